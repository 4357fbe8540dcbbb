#!/usr/bin/env python3
"""An independent CBOR peer for the Swift tests, built on the `cbor2` package.

  cbor2_peer.py check      read hex lines on stdin; for each, decode with cbor2 and re-encode in
                           canonical mode; print "ok N" or "mismatch <line> <cbor2 hex>" lines.
  cbor2_peer.py generate N SEED
                           print N hex lines per value family, each cbor2's canonical encoding of
                           a random value (ints at every width boundary, strings at the length
                           boundaries, nested maps with mixed-length keys, arrays, floats).
"""
import random
import sys

import cbor2

BOUNDARY_LENGTHS = [0, 1, 23, 24, 25, 255, 256, 257, 65535, 65536, 65537]
INT_BOUNDARIES = [0, 1, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1]


def canonical(value):
    return cbor2.dumps(value, canonical=True)


def check():
    count = 0
    for number, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line:
            continue
        data = bytes.fromhex(line)
        theirs = canonical(cbor2.loads(data))
        if theirs != data:
            print(f"mismatch {number} {theirs.hex()}")
        count += 1
    print(f"ok {count}")


def rand_int(rng):
    base = rng.choice(INT_BOUNDARIES)
    value = max(0, min(2**64 - 1, base + rng.randint(-2, 2)))
    if rng.random() < 0.5 and value <= 2**64:
        value = -1 - value if value < 2**64 else -(2**64)
        value = max(value, -(2**64))
    return value


def rand_length(rng, boundaries):
    # Top-level strings hit the length boundaries often; nested ones stay short.
    if boundaries and rng.random() < 0.5:
        return rng.choice(BOUNDARY_LENGTHS)
    return rng.randint(0, 40)


def rand_bytes(rng, boundaries=False):
    return rng.randbytes(rand_length(rng, boundaries))


def rand_text(rng, boundaries=False):
    n = rand_length(rng, boundaries)
    alphabet = "abcdefghijklmnopqrstuvwxyz_ABCDEF0123456789éß漢😀"
    text = "".join(rng.choice(alphabet) for _ in range(n))
    return text


def rand_key(rng):
    kind = rng.random()
    if kind < 0.6:
        return "".join(rng.choice("abcdefgh_") for _ in range(rng.randint(0, 30)))
    if kind < 0.8:
        return rng.choice([0, 1, 23, 24, 255, 256, 70000, -1, -25])
    return rng.randbytes(rng.randint(0, 33))


def rand_float(rng):
    return rng.choice([0.0, -0.0, 1.0, 1.5, 65504.0, 100000.0, 1.0e-7, 3.4028234663852886e38,
                       1.0e300, rng.uniform(-1e6, 1e6), float("inf"), float("-inf")])


def rand_value(rng, depth=0):
    choices = ["int", "bytes", "text", "bool", "null", "float"]
    if depth < 4:
        choices += ["array", "map"]
    kind = rng.choice(choices)
    if kind == "int":
        return rand_int(rng)
    if kind == "bytes":
        return rand_bytes(rng)
    if kind == "text":
        return rand_text(rng)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "float":
        return rand_float(rng)
    if kind == "array":
        return [rand_value(rng, depth + 1) for _ in range(rng.choice([0, 1, 3, 24]))]
    return {rand_key(rng): rand_value(rng, depth + 1) for _ in range(rng.randint(0, 12))}


FAMILIES = {
    "int": rand_int,
    "bytes": lambda rng: rand_bytes(rng, True),
    "text": lambda rng: rand_text(rng, True),
    "map": lambda rng: {rand_key(rng): rand_value(rng, 3) for _ in range(rng.randint(0, 20))},
    "array": lambda rng: [rand_value(rng, 3) for _ in range(rng.randint(0, 30))],
    "nested": rand_value,
}


def generate(n, seed):
    rng = random.Random(seed)
    for family, make in FAMILIES.items():
        for _ in range(n):
            print(family, canonical(make(rng)).hex())


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check()
    elif sys.argv[1] == "generate":
        generate(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit("usage: cbor2_peer.py check | generate N SEED")
