#!/usr/bin/env python3
"""An independent RHP 2.0.0 host, written against the spec with cbor2, played against a runtime.

Usage: host_peer.py <runtime binary> <scenario>

It binds a Unix socket in a temporary directory, starts the runtime with OASIS_WORKER_HOST set
to it, accepts the connection and runs the scenario. Exit status 0 means every check passed;
otherwise the reason is on stderr.

Scenarios:
  protocol        handshake (byte-exact), ping (byte-exact), queries, check-tx (with a field the
                  runtime does not know, which it ignores), local RPC, a request the runtime
                  refuses, then a clean close (the runtime exits 0)
  not-configured  requests before the handshake are refused; ping is served
  oversize        a length prefix of 16 MiB + 1: the runtime closes the connection, logs why,
                  and exits without crashing
  garbage         a frame of bytes that are not CBOR: the same
  garbage-stream  bytes that are not even a frame header: the same
  execute         an execute batch on an empty state: the runtime's storage reads (each key once,
                  in the spec's SyncGet shape), answered with empty-tree proofs, and the computed
                  batch checked field by field (previous_hash against our own hash of the header)
"""

import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

import cbor2

RUNTIME_ID = bytes.fromhex("80000000000000000000000000000000000000000000000000000000000000aa")
EMPTY_HASH = hashlib.new("sha512_256", b"").digest()
RHP_VERSION = 2 << 32
CONSENSUS_VERSION = 4 << 32


class HostFailure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise HostFailure(what)


def message(message_id, message_type, body):
    return {"id": message_id, "body": body, "message_type": message_type, "span_context": b""}


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


class Host:
    def __init__(self, runtime):
        self.directory = tempfile.mkdtemp(prefix="rhp-host-")
        self.path = os.path.join(self.directory, "rhp.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.listener.settimeout(120)
        env = dict(os.environ, OASIS_WORKER_HOST=self.path)
        self.child = subprocess.Popen([runtime], env=env, stderr=subprocess.PIPE)
        self.sock, _ = self.listener.accept()
        self.sock.settimeout(120)
        self.next_id = 0

    def send_bytes(self, data):
        self.sock.sendall(data)

    def send(self, msg):
        payload = cbor2.dumps(msg, canonical=True)
        self.send_bytes(frame(payload))
        return payload

    def recv_exact(self, n):
        chunks = []
        while n > 0:
            chunk = self.sock.recv(n)
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def read_payload(self):
        header = self.recv_exact(4)
        if header is None:
            return None
        (n,) = struct.unpack(">I", header)
        payload = self.recv_exact(n)
        check(payload is not None, "EOF inside a frame")
        return payload

    def read(self):
        payload = self.read_payload()
        check(payload is not None, "runtime closed the connection unexpectedly")
        decoded = cbor2.loads(payload)
        check(cbor2.dumps(decoded, canonical=True) == payload, f"runtime sent non-canonical CBOR {payload.hex()}")
        check(set(decoded) == {"id", "body", "message_type", "span_context"}, f"envelope keys {sorted(decoded)}")
        check(len(decoded["body"]) == 1, f"body keys {sorted(decoded['body'])}")
        return decoded, payload

    def call(self, body):
        """Sends a request and returns the response body (and its raw payload)."""
        message_id = self.next_id
        self.next_id += 1
        self.send(message(message_id, 1, body))
        reply, payload = self.read()
        check(reply["message_type"] == 2, f"expected a response, got {reply!r}")
        check(reply["id"] == message_id, f"response id {reply['id']} for request {message_id}")
        check(reply["span_context"] == b"", "response span_context not empty")
        return reply["body"], payload

    def call_serving(self, body, serve):
        """Sends a request and answers the runtime's own requests with `serve` until the response
        comes; returns the response body."""
        message_id = self.next_id
        self.next_id += 1
        self.send(message(message_id, 1, body))
        while True:
            msg, _ = self.read()
            if msg["message_type"] == 1:
                self.send(message(msg["id"], 2, serve(msg["body"])))
                continue
            check(msg["message_type"] == 2, f"expected a response, got {msg!r}")
            check(msg["id"] == message_id, f"response id {msg['id']} for request {message_id}")
            return msg["body"]

    def handshake(self):
        info = {
            "runtime_id": RUNTIME_ID,
            "consensus_backend": "tendermint",
            "consensus_protocol_version": CONSENSUS_VERSION,
            "consensus_chain_context": "host-peer",
        }
        body, payload = self.call({"RuntimeInfoRequest": info})
        check("RuntimeInfoResponse" in body, f"handshake answer {body!r}")
        response = body["RuntimeInfoResponse"]
        check(set(response) == {"protocol_version", "runtime_version"}, f"info fields {sorted(response)}")
        check(response["protocol_version"] >> 32 == 2, f"protocol version {response['protocol_version']:#x}")
        expected = cbor2.dumps(message(0, 2, {"RuntimeInfoResponse": response}), canonical=True)
        check(payload == expected, f"info response bytes {payload.hex()}")
        return response

    def expect_close(self):
        """The runtime must close the connection (EOF), possibly after nothing at all."""
        while True:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                return
            if not data:
                return

    def finish(self, expect_in_log=None):
        """Closes our side, waits for the runtime to exit, and checks that it exited cleanly."""
        self.sock.close()
        self.listener.close()
        try:
            _, stderr = self.child.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.child.kill()
            raise HostFailure("runtime did not exit after the connection closed")
        log = stderr.decode(errors="replace")
        check(self.child.returncode == 0, f"runtime exit status {self.child.returncode}; its log:\n{log}")
        if expect_in_log is not None:
            check(expect_in_log in log, f"runtime log lacks {expect_in_log!r}:\n{log}")
        shutil.rmtree(self.directory, ignore_errors=True)


def insert(key, value):
    return cbor2.dumps({"method": "insert", "args": {"key": key, "value": value}}, canonical=True)


def protocol(host):
    host.handshake()

    # Ping: exactly the spec's Empty response, with this request's id.
    body, payload = host.call({"RuntimePingRequest": {}})
    check(payload == cbor2.dumps(message(1, 2, {"Empty": {}}), canonical=True), f"ping reply {payload.hex()}")
    check(len(payload) == 46, "ping reply is not 46 bytes")

    body, _ = host.call({"RuntimeQueryRequest": {"method": "get_runtime_id", "header": {}, "args": None}})
    check(body == {"RuntimeQueryResponse": {"data": RUNTIME_ID.hex()}}, f"get_runtime_id answer {body!r}")

    body, _ = host.call({"RuntimeQueryRequest": {"method": "nope", "header": {}, "args": None}})
    check(body == {"Error": {"module": "dispatcher", "code": 1, "message": "query not supported"}},
          f"unknown query answer {body!r}")

    # A field from a newer host, unknown to the runtime: ignored, as the Rust runtime does.
    body, _ = host.call({"RuntimeCheckTxBatchRequest": {
        "consensus_block": {"height": 1, "meta": b"", "future_field": 1},
        "inputs": [insert("hello", "world"), b"\xff", cbor2.dumps({"method": "fly", "args": None})],
        "block": {"header": {}},
    }})
    results = body["RuntimeCheckTxBatchResponse"]["results"]
    check(len(results) == 3, f"check-tx results {results!r}")
    check(results[0] == {"error": {}}, f"valid tx result {results[0]!r}")
    check(results[1]["error"].get("code", 0) != 0, f"garbage tx result {results[1]!r}")
    check(results[2]["error"].get("message") == "method not found: fly", f"unknown method result {results[2]!r}")

    rpc = cbor2.dumps({"method": "get_runtime_id", "args": None}, canonical=True)
    body, _ = host.call({"RuntimeLocalRPCCallRequest": {"request": rpc}})
    check(cbor2.loads(body["RuntimeLocalRPCCallResponse"]["response"]) == RUNTIME_ID.hex(), f"local RPC {body!r}")

    body, _ = host.call({"RuntimeShutdownRequest": {}})
    check(body == {"Error": {"module": "dispatcher", "code": 1, "message": "method not supported"}},
          f"shutdown answer {body!r}")

    body, _ = host.call({"RuntimeAbortRequest": {}})
    check(body == {"RuntimeAbortResponse": {}}, f"abort answer {body!r}")
    host.finish(expect_in_log="host closed the connection")


def not_configured(host):
    body, _ = host.call({"RuntimeQueryRequest": {"method": "get_runtime_id", "header": {}, "args": None}})
    check(body == {"Error": {"module": "dispatcher", "code": 1, "message": "host environment information not configured"}},
          f"query before the handshake {body!r}")
    body, _ = host.call({"RuntimeCheckTxBatchRequest": {"consensus_block": {}, "inputs": [], "block": {"header": {}}}})
    check("Error" in body, f"check-tx before the handshake {body!r}")
    body, _ = host.call({"RuntimePingRequest": {}})
    check(body == {"Empty": {}}, f"ping before the handshake {body!r}")
    host.finish()


def oversize(host):
    host.handshake()
    host.send_bytes(struct.pack(">I", 16 * 1024 * 1024 + 1))
    host.expect_close()
    host.finish(expect_in_log="codec: message too large (16777217 bytes")


def garbage(host):
    host.handshake()
    host.send_bytes(frame(b"\xff\xfe\xfd\x00garbage"))
    host.expect_close()
    host.finish(expect_in_log="codec: message is malformed")


def garbage_stream(host):
    host.handshake()
    host.send_bytes(b"this is not RHP at all\n")
    host.expect_close()
    host.finish(expect_in_log="rhp: closing connection")


def execute(host):
    host.handshake()
    header = {
        "version": 0, "namespace": RUNTIME_ID, "round": 5, "timestamp": 1700000000, "header_type": 1,
        "previous_hash": EMPTY_HASH, "io_root": EMPTY_HASH, "state_root": EMPTY_HASH,
        "messages_hash": EMPTY_HASH, "storage_signatures": None,
    }
    get_c = cbor2.dumps({"method": "get", "args": {"key": "c"}}, canonical=True)
    inputs = [insert("a", "1"), insert("b", "2"), get_c, insert("a", "3"), b"\xff"]
    reads = []

    def serve(body):
        check(set(body) == {"HostStorageSyncRequest"}, f"runtime request {body!r}")
        sync = body["HostStorageSyncRequest"]
        # endpoint 0 is omitted (omitempty); exactly one operation, at the same level.
        check(set(sync) == {"SyncGet"}, f"storage sync request keys {sorted(sync)}")
        get = sync["SyncGet"]
        check(set(get) == {"tree", "key"}, f"SyncGet keys {sorted(get)}")
        expected_root = {"ns": RUNTIME_ID, "version": 5, "root_type": 1, "hash": EMPTY_HASH}
        check(get["tree"] == {"root": expected_root, "position": EMPTY_HASH}, f"SyncGet tree {get['tree']!r}")
        reads.append(get["key"])
        # The empty tree's proof has no entries.
        return {"HostStorageSyncResponse": {"ProofResponse": {"proof": {"untrusted_root": EMPTY_HASH, "entries": []}}}}

    body = host.call_serving({"RuntimeExecuteTxBatchRequest": {
        "consensus_block": {"height": 7, "meta": b""},
        "round_results": {},
        "io_root": EMPTY_HASH,
        "inputs": inputs,
        "block": {"header": header},
        "max_messages": 0,
    }}, serve)
    check(set(body) == {"RuntimeExecuteTxBatchResponse"}, f"execute answer {body!r}")
    batch = body["RuntimeExecuteTxBatchResponse"]["batch"]
    check(set(batch) == {"header", "io_write_log", "state_write_log", "rak_sig", "messages"},
          f"computed batch keys {sorted(batch)}")
    results = batch["header"]
    check(set(results) == {"round", "previous_hash", "io_root", "state_root", "messages_hash"},
          f"compute results header keys {sorted(results)}")
    check(results["round"] == 6, f"round {results['round']}")
    # The previous hash is the hash of the header as we encoded it: the runtime read and
    # re-encoded exactly these bytes.
    block_hash = hashlib.new("sha512_256", cbor2.dumps(header, canonical=True)).digest()
    check(results["previous_hash"] == block_hash, f"previous_hash {results['previous_hash'].hex()}")
    check(results["messages_hash"] == EMPTY_HASH, "messages_hash of no messages is not the empty hash")
    check(len(results["io_root"]) == 32 and len(results["state_root"]) == 32, "roots are not 32 bytes")
    check(results["state_root"] != EMPTY_HASH, "state root did not change")
    check(batch["state_write_log"] == [[b"a", b"3"], [b"b", b"2"]], f"state write log {batch['state_write_log']!r}")
    check(all(isinstance(e, list) and len(e) == 2 and all(isinstance(x, bytes) for x in e) for e in batch["io_write_log"]),
          "io write log entries are not [key, value] byte pairs")
    check(any(inputs[0] in e[1] for e in batch["io_write_log"]), "io write log lacks the first input")
    check(batch["rak_sig"] == bytes(64), "rak_sig is not 64 zero bytes")
    check(batch["messages"] == [], f"messages {batch['messages']!r}")
    check(sorted(reads) == [b"a", b"b", b"c"], f"storage reads {reads!r}")
    host.finish()


SCENARIOS = {
    "protocol": protocol,
    "not-configured": not_configured,
    "oversize": oversize,
    "garbage": garbage,
    "garbage-stream": garbage_stream,
    "execute": execute,
}


def main():
    runtime, scenario = sys.argv[1], SCENARIOS[sys.argv[2]]
    host = Host(runtime)
    try:
        scenario(host)
    except (HostFailure, OSError, cbor2.CBORDecodeError, KeyError) as failure:
        print(f"host_peer {sys.argv[2]}: {type(failure).__name__}: {failure}", file=sys.stderr)
        if host.child.poll() is None:
            host.child.kill()
            host.child.wait()
        shutil.rmtree(host.directory, ignore_errors=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
