"""JSON text by orjson, for the hot paths: stored JSON columns and the API's responses.

orjson writes what :func:`json.dumps` writes for the values we store and send (the same
shortest float digits, keys in the order given; a tiny float may be spelled otherwise, ``1e-7``
or ``0.000025`` for ``1e-07`` or ``2.5e-05``), compact and in UTF-8, several times faster: a
comment's verdict and rule hits are stored as JSON and its verdict sent back as JSON on every
submission. What orjson does not take itself, :func:`json.dumps` would (a float or int
subclass, a numpy array) goes through :func:`plain`; anything else still raises ``TypeError``.
Unlike :func:`json.dumps`, a NaN or infinity becomes ``null`` (PostgreSQL's json type refuses
``NaN`` anyway), and a dict's non-string keys become strings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

OPTIONS = orjson.OPT_NON_STR_KEYS


def plain(value: Any) -> Any:
    """A value orjson takes for one :func:`json.dumps` takes (numpy scalars and arrays too)."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    tolist = getattr(value, "tolist", None)  # a numpy scalar or array
    if tolist is not None:
        return tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """``value`` as compact JSON text."""
    return orjson.dumps(value, default=plain, option=OPTIONS).decode()


def dumps_bytes(value: Any, default: Callable[[Any], Any], option: int = 0) -> bytes:
    """``value`` as compact UTF-8 JSON, ``default`` asked first for what orjson does not take
    (then :func:`plain`)."""

    def fallback(obj: Any) -> Any:
        try:
            return default(obj)
        except TypeError:
            return plain(obj)

    return orjson.dumps(value, default=fallback, option=OPTIONS | option)
