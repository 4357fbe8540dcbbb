"""Times cbor2 (its C extension) on the same items the Swift benchmark uses.

Reads lines "<name> <hex>" on stdin; prints "<name> <encode ns> <decode ns>" per line.
Encoding starts from the Python value cbor2 decodes (dicts, lists, bytes), canonical mode.
"""
import sys
import timeit

import cbor2

assert type(cbor2.loads).__name__ == "builtin_function_or_method", "cbor2 native extension not loaded"


def per_call_ns(stmt, number):
    runs = timeit.repeat(stmt, number=number, repeat=31)
    runs.sort()
    return runs[len(runs) // 2] / number * 1e9


for line in sys.stdin:
    name, hexdata = line.split()
    data = bytes.fromhex(hexdata)
    value = cbor2.loads(data)
    assert cbor2.dumps(value, canonical=True) == data, f"{name}: cbor2 disagrees with our bytes"
    number = 2000
    enc = per_call_ns(lambda: cbor2.dumps(value, canonical=True), number)
    dec = per_call_ns(lambda: cbor2.loads(data), number)
    print(name, f"{enc:.1f}", f"{dec:.1f}")
