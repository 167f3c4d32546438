"""Compact storage of a job's JSON columns (params, provider buttons, result URLs).

Each is a few hundred bytes of JSON that repeats the same key names, button ids and URL
prefixes in every row: raw deflate with a preset dictionary of those strings stores it in a
tenth of the space (a grid's nine buttons: ~810 bytes as JSON, ~50 packed). Packed values are
bytes that start with a format byte; a value too short to gain is stored as its UTF-8 bytes
(PostgreSQL's ``bytea`` column takes bytes only); rows written as JSON text before stay
readable as they are. The dictionary of format 1 must never change: a new dictionary is a
new format byte.
"""

from __future__ import annotations

import zlib

_FORMAT_1 = b"\x01"
_DICTIONARY_1 = (
    b"https://cdn.discordapp.com/attachments/https://media.discordapp.net/attachments/"
    b'.png", "https://.webp", "https://'
    b'{"custom_id":"MJ::Inpaint::1::","label":"","emoji":"","style":2,"type":2},'
    b'{"custom_id":"MJ::Outpaint::50::1::SOLO",'
    b'"label":"Zoom Out 2x","emoji":"","style":2,"type":2},'
    b'{"custom_id":"MJ::CustomZoom::","label":"Custom Zoom","emoji":"","style":2,"type":2},'
    b'{"custom_id":"MJ::JOB::pan_left::1::",'
    b'"label":"","emoji":"\xe2\xac\x85\xef\xb8\x8f","style":2,"type":2},'
    b'{"custom_id":"MJ::JOB::low_variation::1::::SOLO",'
    b'"label":"Vary (Subtle)","emoji":"","style":2,"type":2},'
    b'{"custom_id":"MJ::JOB::high_variation::1::::SOLO",'
    b'"label":"Vary (Strong)","emoji":"","style":2,"type":2},'
    b'{"custom_id":"MJ::JOB::upsample_v6_2x_subtle::1::::SOLO",'
    b'"label":"Upscale (Subtle)","emoji":"","style":2,"type":2},'
    b'{"custom_id":"MJ::JOB::reroll::0::::SOLO",'
    b'"label":"","emoji":"\xf0\x9f\x94\x84","style":2,"type":2}]'
    b'[{"custom_id":"MJ::JOB::variation::1::","label":"V1","emoji":"","style":2,"type":2},'
    b'{"custom_id":"MJ::JOB::upsample::1::","label":"U1","emoji":"","style":2,"type":2},'
    b'{"ar": "1:1", "chaos": 0, "cref": [], "cw": 100, "draft": false, "exp": null, "iw": 1.0,'
    b' "niji": null, "no": [], "oref": null, "ow": 100, "quality": 1.0, "raw": false,'
    b' "repeat": 1, "seed": , "speed": null, "sref": [], "stop": 100, "style": null,'
    b' "stylize": 100, "sw": 100, "tile": false, "version": "7", "weird": 0}'
)
_EMPTY = frozenset({"[]", "{}"})


def pack(text: str) -> bytes:
    """A JSON column's stored value: packed, or the text's own bytes when those are shorter."""
    plain = text.encode()
    if text in _EMPTY:  # most rows until they finish
        return plain
    packer = zlib.compressobj(6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_1)
    packed = _FORMAT_1 + packer.compress(plain) + packer.flush()
    return packed if len(packed) < len(plain) else plain


def unpack(stored: str | bytes) -> str:
    """The JSON text of a stored value (packed or not)."""
    if isinstance(stored, str):
        return stored
    if stored[:1] != _FORMAT_1:
        # JSON text stored as bytes (JSON never starts with 0x01).
        return stored.decode()
    unpacker = zlib.decompressobj(-15, zdict=_DICTIONARY_1)
    return (unpacker.decompress(stored[1:]) + unpacker.flush()).decode()
