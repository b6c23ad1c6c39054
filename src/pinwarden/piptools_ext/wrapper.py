"""`pinwarden pip-compile ...`: pip-compile, with every new or changed hash checked first."""

from __future__ import annotations

from typing import TextIO

from ..shared.errors import PinwardenError


def main(argv: list[str], out: TextIO, err: TextIO) -> int:
    raise PinwardenError("pinwarden pip-compile is not available yet")
