"""How every `pinwarden` command ends, whichever front ran it (cli.main, or entry.py's straight path
to the uv guard): one `pinwarden: error:` line and exit code 2 for an error, never a traceback; and
every message through a mask, so that a password in any URL (an index, a git source) is never
printed. Small on purpose: the uv guard's start-up must not pay for cli.py's imports.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO, cast

EXIT_OK, EXIT_ERROR = 0, 2


class Masking:
    """A text stream that masks URL passwords in what is written, delegating everything else."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        # model's masking is index.sources.redact_url's, without importing the index package (its
        # HTML and config parsers) into every command that prints.
        from .shared.model import masked_source

        return self._stream.write(masked_source(text))

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def masked(stream: TextIO) -> TextIO:
    return cast(TextIO, Masking(stream))


def ended(body: Callable[[TextIO, TextIO], int], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """body(out, err)'s exit code; every error ends here as one line on stderr and exit code 2."""
    out = masked(out or sys.stdout)
    err = masked(err or sys.stderr)
    try:
        return body(out, err)
    except KeyboardInterrupt:
        err.write("pinwarden: interrupted; nothing was written\n")
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        # Imported here, not above: the error types' modules are not every command's.
        from .shared.errors import PinwardenError
        from .shared.model import InvalidValue

        if isinstance(exc, (PinwardenError, InvalidValue)):
            err.write(f"pinwarden: error: {exc}\n")
        elif isinstance(exc, OSError) and exc.filename is not None:
            # A path the system refuses (too long, no permission, not a directory): bad input, as
            # the one-line rule says, whichever module met it first.
            err.write(f"pinwarden: error: {_one_line(str(exc.filename))}: {exc.strerror or exc}\n")
        elif os.environ.get("PINWARDEN_DEBUG"):
            raise
        else:
            err.write(
                f"pinwarden: internal error: {type(exc).__name__}: {exc} (PINWARDEN_DEBUG=1 shows where)\n"
            )
    return EXIT_ERROR


def _one_line(text: str) -> str:
    return text.replace("\n", "\\n").replace("\r", "\\r")
