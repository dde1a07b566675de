"""Read palette (indexed) PNG masks as their indices.

OpenCV always expands a palette PNG to colour, which loses the class index that VOC-style
and our own exported masks store. Rewriting the PLTE chunk to a grey ramp (entry i = i,i,i)
makes every decoded channel equal the index, so the ordinary decoder path applies.
"""
from __future__ import annotations

import struct
import zlib

_COLOUR_TYPE_OFFSET = 25  # 8-byte magic + IHDR length/type (8) + width/height (8) + bit depth (1)
_PALETTE = 3


def is_palette_png(data: bytes) -> bool:
    return len(data) > _COLOUR_TYPE_OFFSET and data[_COLOUR_TYPE_OFFSET] == _PALETTE


def palette_as_gray(data: bytes) -> bytes:
    """The same PNG with a grey-ramp palette and no transparency chunk."""
    if not is_palette_png(data):
        return data
    out, pos = [data[:8]], 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if kind == b"PLTE":
            body = bytes(i for i in range(length // 3) for _ in range(3))
            crc = struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
            out.append(struct.pack(">I", len(body)) + kind + body + crc)
        elif kind != b"tRNS":
            out.append(data[pos:end])
        pos = end
    return b"".join(out)
