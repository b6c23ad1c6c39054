"""Whether a person can answer: the one rule the Poetry plugin and the pip-compile wrapper share."""

from __future__ import annotations

import os
from collections.abc import Mapping


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """`CI` set to anything, `false`, `0` and the empty string included. CI systems spell it many
    ways and an attacker's environment can spell it any way: its mere presence means nobody is
    there to answer (fail closed), never a value read as "a person after all"."""
    return "CI" in (os.environ if environ is None else environ)


def is_terminal(stream: object) -> bool:
    """A stream a person types into or reads from; a missing, closed or replaced one is nobody's."""
    isatty = getattr(stream, "isatty", None)
    if not callable(isatty):
        return False
    try:
        return bool(isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return False


def person_at(stdin: object, stderr: object) -> bool:
    """A person can answer only with the question on a terminal (stderr), the answer from one
    (stdin), and CI not set: a piped answer is a script's, not someone who read the report."""
    return not in_ci() and is_terminal(stdin) and is_terminal(stderr)
