"""A one-line progress report on a terminal, for long audits; nothing at all anywhere else."""

from __future__ import annotations

import time
from typing import TextIO

DELAY = 0.5  # seconds: a quick audit never draws
INTERVAL = 0.1


class ProgressLine:
    """`label: done/total`, redrawn in place on stderr when it is a terminal."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.enabled = _isatty(stream)
        self._start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._start < DELAY or (now - self._last < INTERVAL and done < total):
            return
        self._last = now
        self._drawn = True
        self.stream.write(f"\r{self.label}: {done}/{total}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
