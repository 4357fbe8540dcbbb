#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/Corpus/<target>/ (run from anywhere; needs cbor2).

Seeds are a handful of valid inputs per target, so the fuzzer starts from the shapes the node
really reads; the fuzzer finds the malformed ones itself.
"""
import os
import struct

import cbor2

HERE = os.path.dirname(os.path.abspath(__file__))


def enc(value):
    return cbor2.dumps(value, canonical=True)


def write(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def message(mid, mtype, body, span=b""):
    return enc({"id": mid, "message_type": mtype, "body": body, "span_context": span})


COMPUTE_ID = bytes([0x80]) + bytes(31)
KM_ID = bytes([0xC0]) + bytes(30) + bytes([1])
ENTITY = bytes(31) + bytes([5])
EMPTY_ROOT = bytes.fromhex("c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a")

messages = {
    "ping": message(1, 1, {"RuntimePingRequest": {}}),
    "empty-response": message(1, 2, {"Empty": {}}),
    "error": message(7, 2, {"Error": {"module": "rhp/internal", "code": 1, "message": "boom"}}),
    "info-request": message(
        2, 1,
        {"RuntimeInfoRequest": {
            "runtime_id": COMPUTE_ID, "consensus_backend": "tendermint",
            "consensus_protocol_version": 0x0004000000000000, "consensus_chain_context": "abc"}},
        span=b"\x01\x02"),
    "info-response": message(2, 2, {"RuntimeInfoResponse": {"protocol_version": 0x0003000000000000,
                                                            "runtime_version": 0x0001000200000003}}),
    "local-storage-get": message(3, 1, {"HostLocalStorageGetRequest": {"key": b"k"}}),
    "local-storage-set": message(4, 1, {"HostLocalStorageSetRequest": {"key": b"k", "value": b"v"}}),
    "local-storage-get-response": message(3, 2, {"HostLocalStorageGetResponse": {"value": b"v"}}),
    "query-response": message(5, 2, {"RuntimeQueryResponse": {"data": {"a": [1, -2, b"x", None, True, 1.5]}}}),
    "missing-fields": enc({"body": {"RuntimeAbortRequest": {}}}),
    "query-request": message(6, 1, {"RuntimeQueryRequest": {
        "method": "get", "args": {"key": "k"},
        "header": {"version": 0, "namespace": COMPUTE_ID, "round": 5, "timestamp": 1600000000,
                   "header_type": 1, "previous_hash": bytes(32), "io_root": EMPTY_ROOT,
                   "state_root": EMPTY_ROOT, "messages_hash": EMPTY_ROOT,
                   "storage_signatures": [{"public_key": ENTITY, "signature": bytes(64)}]}}}),
    "query-response-text": message(6, 2, {"RuntimeQueryResponse": {"data": "v"}}),
    "check-tx-request": message(8, 1, {"RuntimeCheckTxBatchRequest": {
        "consensus_block": {"height": 7, "meta": b"m"}, "inputs": [b"\xa1", b""],
        "block": {"header": {"round": 3, "namespace": COMPUTE_ID}}}}),
    "check-tx-response": message(8, 2, {"RuntimeCheckTxBatchResponse": {"results": [
        {"error": {}}, {"error": {"module": "kv", "code": 1, "message": "bad"}, "meta": {"k": 1}}]}}),
}
for name, data in messages.items():
    write("fuzz-cbor-message", name, data)

# The RHP stream: frames back to back (length prefix + payload); the first byte of an input
# seeds the chunk sizes the fuzz target splits the stream into.
def frame(payload):
    return struct.pack(">I", len(payload)) + payload

write("fuzz-rhp-frame", "one-ping", b"\x00" + frame(messages["ping"]))
write("fuzz-rhp-frame", "three-frames", b"\x07" + frame(messages["ping"]) + frame(messages["error"])
      + frame(messages["info-request"]))
write("fuzz-rhp-frame", "truncated", b"\x03" + frame(messages["local-storage-set"]) + frame(messages["ping"])[:9])
write("fuzz-rhp-frame", "oversize", b"\x01" + struct.pack(">I", 16 * 1024 * 1024 + 1) + b"\xa0")
write("fuzz-rhp-frame", "empty-frame", b"\x05" + frame(b"") + frame(messages["ping"]))

# Runtime descriptors (CBOR), as registrations carry them.
def descriptor(**overrides):
    d = {
        "v": 2, "id": COMPUTE_ID, "entity_id": ENTITY,
        "genesis": {"state_root": EMPTY_ROOT, "state": None, "storage_receipts": None, "round": 0},
        "kind": 1, "tee_hardware": 0, "versions": {"version": {}},
        "executor": {"group_size": 1, "group_backup_size": 0, "allowed_stragglers": 0, "round_timeout": 20,
                     "max_messages": 0},
        "txn_scheduler": {"algorithm": "simple", "batch_flush_timeout": 1_000_000_000, "max_batch_size": 1,
                          "max_batch_size_bytes": 1024, "propose_batch_timeout": 20},
        "storage": {"group_size": 1, "min_write_replication": 1, "max_apply_write_log_entries": 100_000,
                    "max_apply_ops": 2, "checkpoint_interval": 0, "checkpoint_num_kept": 0,
                    "checkpoint_chunk_size": 0},
        "admission_policy": {"any_node": {}},
        "governance_model": 1,
    }
    d.update(overrides)
    return d

descriptors = {
    "compute": descriptor(),
    "key-manager": {"v": 2, "id": KM_ID, "entity_id": ENTITY, "kind": 2,
                    "genesis": {"state_root": EMPTY_ROOT, "round": 0},
                    "admission_policy": {"any_node": {}}, "governance_model": 1},
    "populated": descriptor(
        tee_hardware=1, key_manager=KM_ID,
        versions={"version": {"major": 1, "minor": 2, "patch": 3},
                  "tee": enc({"enclaves": [{"mr_enclave": b"\xaa" * 32, "mr_signer": b"\xbb" * 32}]})},
        genesis={"state_root": EMPTY_ROOT, "state": [[b"key", b"value"]],
                 "storage_receipts": [{"public_key": bytes(31) + b"\x09", "signature": bytes(64)}], "round": 7},
        admission_policy={"entity_whitelist": {"entities": {ENTITY: {"max_nodes": {1: 3, 2: 1}}}}},
        constraints={1: {1: {"validator_set": {}, "max_nodes": {"limit": 2}, "min_pool_size": {"limit": 5}},
                         2: {"min_pool_size": {"limit": 1}}}, 2: {1: {}}},
        staking={"thresholds": {2: b"\x03\xe8", 3: b"\x05"},
                 "slashing": {0x81: {"amount": b"\x64", "freeze_interval": 1}},
                 "reward_equivocation": 10, "reward_bad_results": 20},
        governance_model=2),
    "empty-map": {},
    "raw-value": [1, -1, b"\x00", "text", {"k": None}, False, 0.5, cbor2.CBORSimpleValue(16)],
}
for name, value in descriptors.items():
    write("fuzz-cbor-descriptor", name, enc(value))

# Genesis documents (YAML and JSON) and JSON runtime descriptors.
import base64

def b64(b):
    return base64.b64encode(b).decode()

yaml_genesis = f"""block_interval: 500ms
epoch_interval: 5
runtimes:
  - v: 2
    id: {b64(COMPUTE_ID)}
    entity_id: {b64(ENTITY)}
    genesis: {{state_root: {b64(EMPTY_ROOT)}, state: null, storage_receipts: null, round: 0}}
    kind: 1
    tee_hardware: 0
    versions: {{version: {{}}}}
    executor: {{group_size: 1, group_backup_size: 0, allowed_stragglers: 0, round_timeout: 20, max_messages: 0}}
    txn_scheduler: {{algorithm: simple, batch_flush_timeout: 1000000000, max_batch_size: 1, max_batch_size_bytes: 1024, propose_batch_timeout: 20}}
    storage: {{group_size: 1, min_write_replication: 1, max_apply_write_log_entries: 100000, max_apply_ops: 2, checkpoint_interval: 0, checkpoint_num_kept: 0, checkpoint_chunk_size: 0}}
    admission_policy: {{any_node: {{}}}}
    staking: {{}}
    governance_model: entity
"""
write("fuzz-genesis", "runtime.yaml", yaml_genesis)
write("fuzz-genesis", "minimal.json", '{"block_interval": "1s", "epoch_interval": 2, "chain_context": "test"}')
write("fuzz-genesis", "durations.yaml", "block_interval: 1m30s\nepoch_interval: 3\ngenesis_time: 12\n"
      "debug_allow_test_runtimes: false\nruntimes: []\n")
write("fuzz-genesis", "anchors.yaml", "base: &b {block_interval: 0.25}\nblock_interval: *b\nepoch_interval: 2\n")
write("fuzz-genesis", "descriptor.json",
      '{"v":2,"id":"' + b64(KM_ID) + '","entity_id":"' + b64(ENTITY) + '","kind":2,'
      '"genesis":{"state_root":"' + b64(EMPTY_ROOT) + '","round":0},'
      '"constraints":{"executor":{"worker":{"max_nodes":{"limit":1}}}},'
      '"staking":{"thresholds":{"node-compute":"1000"}},'
      '"admission_policy":{"any_node":{}},"governance_model":"entity"}')

# Node configuration files; after a NUL byte, flags as KEY=VALUE lines.
RID = "8000000000000000000000000000000000000000000000000000000000000000"
write("fuzz-config", "full.yaml", f"""datadir: /tmp/fuzz-node
runtime:
  supported:
    - "{RID}"
  provisioner: unconfined
  paths:
    "{RID}": /opt/kv-runtime
  sandbox:
    binary: /opt/bwrap
  sgx:
    loader: /opt/loader
    signatures: {{"{RID}": /opt/sig}}
  history:
    pruner: {{strategy: keep_last, interval: 1h30m, num_kept: 42}}
    tag_indexer: {{backend: sqlite}}
debug: {{dont_blame_oasis: true}}
consensus: {{backend: local, genesis: /opt/genesis.yaml}}
metrics: {{address: "0.0.0.0:9100"}}
log: {{level: warn, format: json}}
""")
write("fuzz-config", "flat-keys.yaml", "datadir: data\nruntime.provisioner: mock\nruntime.history.pruner.interval: 90\n"
      "runtime.paths:\nlog.level: debug\n")
write("fuzz-config", "with-flags", "runtime: {provisioner: mock, paths: {}}\n\0"
      f"datadir=/tmp/fuzz-node\nruntime.supported={RID},{RID[:-1]}1\nruntime.paths={RID}=kv\n"
      "debug.dont_blame_oasis\nruntime.history.pruner.interval=2m\nlog.format=logfmt\n")
write("fuzz-config", "flags-only", "\0datadir=rel/dir\nmetrics.address=\nconsensus.genesis=g.json\nlog.level=warn\n")
write("fuzz-config", "anchors.yaml", "datadir: &d /var/x\nconsensus: {genesis: *d}\nruntime: {supported: [], sgx: {signatures: {}}}\n")

# A runtime's output lines: oasis-core's slog JSON, kv-runtime's, escapes and nesting.
write("fuzz-runtime-log", "slog.json",
      '{"msg":"dispatcher: round failed","level":"ERRO","ts":"2021-06-01T10:00:00.123Z",'
      '"module":"runtime/dispatcher","round":12,"ok":false,"err":null}')
write("fuzz-runtime-log", "kv-runtime.json",
      '{"msg":"kv-runtime: cannot connect to the host","level":"CRIT","ts":"2026-11-29T10:43:22.231Z",'
      '"module":"kv_runtime","error":"connect: No such file","rhp.socket":"/nonexistent"}')
write("fuzz-runtime-log", "escapes.json",
      '{"msg":"a\\"b\\\\c\\/d\\n\\t\\r\\b\\f\\u00e9\\ud83d\\ude00","key":"\\udc00x\\ud800","level":"warning"}')
write("fuzz-runtime-log", "nested.json",
      ' { "msg" : "m" , "err" : {"code": 1, "list": [1, "x", [], {}]}, "n": -1.5e+3, "e": [] } ')
write("fuzz-runtime-log", "plain", "2026-11-29T10:39:00+0000 info kv-runtime: plain text")
