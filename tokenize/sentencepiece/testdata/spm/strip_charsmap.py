#!/usr/bin/env python3
"""strip_charsmap.py IN.model OUT.model CHARSMAP_OUT

Copies a serialized ModelProto, replacing normalizer_spec.precompiled_charsmap (field 3,
then field 2) by an empty string, and writes the charsmap bytes to CHARSMAP_OUT (empty
when the model has none). Everything else is copied byte for byte. Written without the
protobuf package: only varint and length-delimited fields are walked.
"""
import sys


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def put_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        if v:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def fields(b):
    """Yields (number, wire type, record bytes, value bytes) for each field of b."""
    i = 0
    while i < len(b):
        start = i
        tag, i = varint(b, i)
        num, typ = tag >> 3, tag & 7
        if typ == 0:
            _, i = varint(b, i)
            val = None
        elif typ == 1:
            i += 8
            val = None
        elif typ == 5:
            i += 4
            val = None
        elif typ == 2:
            n, i = varint(b, i)
            val = b[i:i + n]
            i += n
        else:
            raise SystemExit("unexpected wire type %d" % typ)
        yield num, typ, b[start:i], val


def main():
    src, dst, cm_out = sys.argv[1:4]
    data = open(src, "rb").read()
    out = bytearray()
    charsmap = b""
    for num, typ, rec, val in fields(data):
        if num == 3 and typ == 2:
            spec = bytearray()
            for n2, t2, r2, v2 in fields(val):
                if n2 == 2 and t2 == 2:
                    charsmap = bytes(v2)
                    spec += b"\x12\x00"
                else:
                    spec += r2
            out += b"\x1a" + put_varint(len(spec)) + spec
        else:
            out += rec
    open(dst, "wb").write(out)
    open(cm_out, "wb").write(charsmap)


main()
