"""TOML text -> mapping, with a parse error turned into a located Problem."""

from __future__ import annotations

import contextlib
import gc
import json
import re
import sys
from collections.abc import Iterator
from typing import Any

from .errors import InputError, Problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+\Z")


def load_toml(text: str, source: str, what: str) -> dict[str, Any]:
    """Raise InputError naming the line and column tomllib reports."""
    try:
        with no_gc():
            return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(source, what, [_problem(exc)]) from None
    except RecursionError:
        # tomllib recurses once per nested array or inline table: `a = [[[[...` exhausts the stack.
        raise InputError(source, what, [Problem("", "invalid TOML: nested too deeply")]) from None


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Parsing builds many small containers and no cycles: a collection there only costs time,
    more than linearly on large ledgers."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def key_path(key: str) -> str:
    """A key as it would be written in TOML, escaped, so a problem's location stays one line."""
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _problem(exc: ValueError) -> Problem:
    # tomllib ends its message with the position: '... (at line 3, column 7)'.
    text = str(exc)
    head, sep, tail = text.rpartition(" (at ")
    if sep and tail.endswith(")"):
        return Problem(tail[:-1], f"invalid TOML: {head}")
    return Problem("", f"invalid TOML: {text}")
