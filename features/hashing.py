"""The one stable hash: a number in [0, 1) per key, the same in Python and in SQL.

Control groups, the fixed training sample and the churn model's validation split must not
change when DuckDB, Python or the machine changes, so they share this definition: the first
8 bytes of SHA-256 of the key's UTF-8 bytes, big-endian, divided by 2**64. SHA-256 is a
standard (FIPS 180-4), unlike DuckDB's `hash()` or Python's salted `hash()`; Spark computes
the same with `sha2(key, 256)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

_SCALE = 2.0**64


def stable_unit(key: str) -> float:
    """A number in [0, 1) fixed for `key` on every machine and version."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def stable_units(keys: Iterable[str]) -> np.ndarray:
    """`stable_unit` of each key, as a float array."""
    return np.fromiter((stable_unit(str(k)) for k in keys), dtype=float)


def stable_unit_sql(key_sql: str) -> str:
    """The SQL (DuckDB) expression of `stable_unit` for a VARCHAR expression."""
    return f"(('0x' || substr(sha256({key_sql}), 1, 16))::UBIGINT / {_SCALE!r})"
