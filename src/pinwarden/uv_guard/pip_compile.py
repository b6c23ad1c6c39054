"""`pinwarden uv pip compile ...`: placeholder until written."""

from __future__ import annotations

from typing import TextIO

from ..shared.errors import PinwardenError
from .args import Invocation


def main(invocation: Invocation, uv: str, out: TextIO, err: TextIO) -> int:
    raise PinwardenError("not yet")
