"""On-disk format of the n-gram model: a JSON header, then zlib-compressed arrays.

Loading never trusts the file: a missing, corrupt or other-version file reads as None,
and the caller trains again.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path

from ai_lsp.providers.ngram_store import CountStore

FORMAT_VERSION = 1
_MAGIC = b"ai-lsp-ngram\n"


@dataclass(slots=True)
class LoadedModel:
    order: int
    words: list[str]
    files: dict[str, array[int]]
    counts: CountStore
    spacing: CountStore


def write_model(
    path: Path,
    order: int,
    words: list[str],
    files: dict[str, array[int]],
    counts: CountStore,
    spacing: CountStore,
) -> None:
    """Write atomically: a reader sees the old file or the complete new one."""
    tokens = array("I")
    for ids in files.values():
        tokens.extend(ids)
    sections: list[tuple[str, bytes]] = [
        ("words", json.dumps(words).encode()),
        ("paths", json.dumps(list(files)).encode()),
        ("lengths", array("I", [len(ids) for ids in files.values()]).tobytes()),
        ("tokens", tokens.tobytes()),
    ]
    for name, store in (("counts", counts), ("spacing", spacing)):
        for j in range(1, store.order + 1):
            keys, values = store.arrays(j)
            sections += [
                (f"{name}.{j}.keys", keys.tobytes()),
                (f"{name}.{j}.counts", values.tobytes()),
            ]
    header = {
        "format": FORMAT_VERSION,
        "order": order,
        "byteorder": sys.byteorder,
        "sections": [[name, len(data)] for name, data in sections],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            head = json.dumps(header).encode()
            out.write(_MAGIC + len(head).to_bytes(4, "little") + head)
            packer = zlib.compressobj(1)
            for _, data in sections:
                out.write(packer.compress(data))
            out.write(packer.flush())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_model(path: Path) -> LoadedModel | None:
    """The model in `path`, or None if it cannot be read exactly as written."""
    try:
        raw = path.read_bytes()
        return _parse(raw)
    except (OSError, ValueError, KeyError, TypeError, IndexError, zlib.error, OverflowError):
        return None


def _parse(raw: bytes) -> LoadedModel | None:
    if not raw.startswith(_MAGIC):
        return None
    at = len(_MAGIC)
    size = int.from_bytes(raw[at : at + 4], "little")
    header = json.loads(raw[at + 4 : at + 4 + size])
    if header.get("format") != FORMAT_VERSION:
        return None
    unpacker = zlib.decompressobj()
    payload = unpacker.decompress(raw[at + 4 + size :])
    if not unpacker.eof or unpacker.unused_data:
        return None
    sections: dict[str, bytes] = {}
    offset = 0
    for name, length in header["sections"]:
        sections[name] = payload[offset : offset + length]
        offset += length
    if offset != len(payload):
        return None
    swap = header["byteorder"] != sys.byteorder
    order = int(header["order"])
    words = json.loads(sections["words"])
    paths = json.loads(sections["paths"])
    lengths = _array("I", sections["lengths"], swap)
    tokens = _array("I", sections["tokens"], swap)
    if len(paths) != len(lengths) or sum(lengths) != len(tokens):
        return None
    if tokens and max(tokens) >> 1 >= len(words):
        return None
    files: dict[str, array[int]] = {}
    start = 0
    for key, length in zip(paths, lengths, strict=True):
        files[key] = tokens[start : start + length]
        start += length
    stores = {"counts": CountStore(order), "spacing": CountStore(2)}
    for name, store in stores.items():
        for j in range(1, store.order + 1):
            keys = _array("Q", sections[f"{name}.{j}.keys"], swap)
            values = _array("I", sections[f"{name}.{j}.counts"], swap)
            if len(keys) != len(values):
                return None
            store.load_arrays(j, keys, values)
    return LoadedModel(order, words, files, stores["counts"], stores["spacing"])


def _array(typecode: str, data: bytes, swap: bool) -> array[int]:
    out = array(typecode)
    out.frombytes(data)
    if swap:
        out.byteswap()
    return out
