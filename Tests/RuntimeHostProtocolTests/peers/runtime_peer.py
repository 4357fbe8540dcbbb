#!/usr/bin/env python3
"""An independent RHP 2.0.0 runtime (the guest side), written against the spec with cbor2.

It connects to OASIS_WORKER_HOST and plays one scenario against the host under test. Every
frame the host sends is checked: 4-byte big-endian length, one canonical CBOR item (re-encoding
it with cbor2's canonical mode gives the same bytes), exactly the four envelope keys, a byte
string span_context, and a body with exactly one key. Any violation exits with status 1 and a
reason on stderr; a scenario that ran as expected exits 0.

Scenarios (argv[1]):
  handshake-ping  answer the handshake, serve pings and queries, ask the host one local-storage
                  read, and exit when the host closes the connection
  out-of-order    after the handshake, collect three requests and answer them in reverse order
  close-mid-call  after the handshake, read one request and close without answering
  not-ready       send a request before answering the handshake and check the not-ready reply
"""

import os
import socket
import struct
import sys

import cbor2

MAX_FRAME = 16 * 1024 * 1024
RHP_VERSION = 2 << 32
RUNTIME_VERSION = (1 << 32) | (2 << 16) | 3
CONSENSUS_VERSION = 4 << 32
NOT_READY_BODY = bytes.fromhex(
    "a1654572726f72a364636f646501666d6f64756c656c7268702f696e7465726e616c"
    "676d6573736167656e7268703a206e6f74207265616479"
)


class PeerFailure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise PeerFailure(what)


class Peer:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Only a bound on a hung host: the host under test shares a test process whose
        # threads a parallel suite keeps busy for a minute or more.
        self.sock.settimeout(300)
        self.sock.connect(path)
        self.next_id = 0

    def recv_exact(self, n):
        chunks = []
        while n > 0:
            chunk = self.sock.recv(min(n, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def read(self):
        """The next message from the host, or None at EOF."""
        header = self.recv_exact(4)
        if header is None:
            return None
        (n,) = struct.unpack(">I", header)
        check(n <= MAX_FRAME, f"frame of {n} bytes exceeds 16 MiB")
        payload = self.recv_exact(n)
        check(payload is not None, "EOF inside a frame")
        message = cbor2.loads(payload)
        check(cbor2.dumps(message, canonical=True) == payload, f"not canonical CBOR: {payload.hex()}")
        check(isinstance(message, dict), "message is not a map")
        check(set(message) == {"id", "body", "message_type", "span_context"}, f"envelope keys {sorted(message)}")
        check(isinstance(message["span_context"], bytes), "span_context is not a byte string")
        check(message["message_type"] in (1, 2), f"message_type {message['message_type']}")
        body = message["body"]
        check(isinstance(body, dict) and len(body) == 1, f"body must have exactly one key: {body!r}")
        return message

    def send(self, message):
        payload = cbor2.dumps(message, canonical=True)
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def respond(self, request, body):
        self.send({"id": request["id"], "body": body, "message_type": 2, "span_context": b""})

    def request(self, body):
        message_id = self.next_id
        self.next_id += 1
        self.send({"id": message_id, "body": body, "message_type": 1, "span_context": b""})
        return message_id

    def expect_request(self, variant):
        message = self.read()
        check(message is not None, f"EOF while waiting for {variant}")
        check(message["message_type"] == 1, f"expected a request, got {message!r}")
        check(variant in message["body"], f"expected {variant}, got {sorted(message['body'])}")
        return message

    def handshake(self):
        message = self.expect_request("RuntimeInfoRequest")
        info = message["body"]["RuntimeInfoRequest"]
        expected_id = bytes.fromhex(os.environ["RHP_EXPECT_RUNTIME_ID"])
        check(info["runtime_id"] == expected_id, f"runtime_id {info['runtime_id'].hex()}")
        check(info["consensus_backend"] == "tendermint", f"consensus_backend {info['consensus_backend']!r}")
        check(info["consensus_protocol_version"] == CONSENSUS_VERSION, "consensus_protocol_version")
        check(isinstance(info["consensus_chain_context"], str), "consensus_chain_context")
        self.respond(message, {"RuntimeInfoResponse": {"protocol_version": RHP_VERSION, "runtime_version": RUNTIME_VERSION}})

    def answer(self, message):
        """The answer a simple runtime gives to a host request."""
        body = message["body"]
        if "RuntimePingRequest" in body:
            check(body["RuntimePingRequest"] == {}, "ping payload is not {}")
            return {"Empty": {}}
        if "RuntimeQueryRequest" in body:
            query = body["RuntimeQueryRequest"]
            check("args" in query, "query without args")
            return {"RuntimeQueryResponse": {"data": query["method"]}}
        return {"Error": {"module": "dispatcher", "code": 1, "message": "method not supported"}}

    def serve_until_eof(self, pending_host_call=None):
        """Answers requests until the host closes; checks the answer to our own call on the way.

        Once that answer checks out, the peer tells the host so with a local-storage write
        (key "verified"), whose own answer it does not wait for: the host test closes the
        connection when it sees that write.
        """
        acknowledgement = None
        while True:
            message = self.read()
            if message is None:
                check(pending_host_call is None, "host closed before answering our request")
                return
            if message["message_type"] == 2:
                check(message["span_context"] == b"", "response span_context not empty")
                if message["id"] == acknowledgement:
                    continue
                check(pending_host_call is not None and message["id"] == pending_host_call[0],
                      f"unexpected response {message!r}")
                check(message["body"] == pending_host_call[1], f"host answered {message['body']!r}")
                pending_host_call = None
                acknowledgement = self.request({"HostLocalStorageSetRequest": {"key": b"verified", "value": b"1"}})
                continue
            self.respond(message, self.answer(message))
            if "RuntimePingRequest" in message["body"] and self.next_id == 0:
                # After the first ping, ask the host something: its handler answers it.
                call_id = self.request({"HostLocalStorageGetRequest": {"key": b"k"}})
                pending_host_call = (call_id, {"HostLocalStorageGetResponse": {"value": b"v"}})


def handshake_ping(peer):
    peer.handshake()
    peer.serve_until_eof()


def out_of_order(peer):
    peer.handshake()
    requests = [peer.expect_request("RuntimeQueryRequest") for _ in range(3)]
    ids = [r["id"] for r in requests]
    check(len(set(ids)) == 3, f"request ids not distinct: {ids}")
    for message in reversed(requests):
        peer.respond(message, peer.answer(message))
    peer.serve_until_eof()


def close_mid_call(peer):
    peer.handshake()
    peer.expect_request("RuntimePingRequest")
    peer.sock.close()


def not_ready(peer):
    info = peer.expect_request("RuntimeInfoRequest")
    call_id = peer.request({"HostLocalStorageGetRequest": {"key": b"k"}})
    reply = peer.read()
    check(reply is not None, "EOF instead of the not-ready reply")
    check(reply["message_type"] == 2 and reply["id"] == call_id, f"reply {reply!r}")
    check(cbor2.dumps(reply["body"], canonical=True) == NOT_READY_BODY, f"not-ready body {reply['body']!r}")
    peer.respond(info, {"RuntimeInfoResponse": {"protocol_version": RHP_VERSION, "runtime_version": RUNTIME_VERSION}})
    peer.serve_until_eof()


SCENARIOS = {
    "handshake-ping": handshake_ping,
    "out-of-order": out_of_order,
    "close-mid-call": close_mid_call,
    "not-ready": not_ready,
}


def main():
    scenario = SCENARIOS[sys.argv[1]]
    peer = Peer(os.environ["OASIS_WORKER_HOST"])
    try:
        scenario(peer)
    except PeerFailure as failure:
        print(f"runtime_peer {sys.argv[1]}: {failure}", file=sys.stderr)
        sys.exit(1)
    except (OSError, cbor2.CBORDecodeError) as error:
        print(f"runtime_peer {sys.argv[1]}: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
