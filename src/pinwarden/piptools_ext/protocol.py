"""What the pip-compile runner (a child process) tells the wrapper: JSON lines on a pipe.

The runner owns everything pip-tools: it reads the effective options, prepares a private copy of
the output file, runs pip-compile on it and reports here, one whole report per line as it learns
more; the last complete line counts. The wrapper never imports pip, so pinwarden adds one process
start to a pip-compile run, not a second import of pip.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# The runner's exit code when pip refused a download whose hash did not match (see `mismatches`).
EXIT_HASH_MISMATCH = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Mismatch:
    """A file pip downloaded whose bytes match none of the hashes pinned for it."""

    name: str | None
    url: str | None
    expected: tuple[str, ...]
    got: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunReport:
    """Written once options are known ("prepared"), and again when pip-compile has finished ("done")."""

    stage: str = "started"
    output: str | None = None  # the user's output file as pip-compile would name it; "-" is stdout
    temp_dir: str | None = None  # the runner's private directory beside the output; the wrapper removes it
    temp_output: str | None = None
    ledger: str | None = None
    first_use: str = "trust"
    audit: bool = False
    dry_run: bool = False
    no_interaction: bool = False  # --no-interaction: never ask, refuse with the approve command
    indexes: tuple[str, ...] = ()  # the index URLs pip used, in pip's order
    no_index: bool = False
    stripped: tuple[str, ...] = ()  # NAME==VERSION pins re-hashed because the ledger no longer trusts them
    verbosity: int = 0  # pip-compile's -v count minus its -q count
    # pip-compile did not echo its output (it does at verbosity 0 and up): the wrapper echoes what it
    # writes, and nothing of a refused result.
    echo_held: bool = False
    informational: bool = False  # --help or --version: pip-compile printed it, nothing else to do
    error: str | None = None  # a one-line reason the run could not happen
    mismatches: tuple[Mismatch, ...] = field(default_factory=tuple)

    def updated(self, **changes: Any) -> RunReport:
        return replace(self, **changes)

    def to_json(self) -> str:
        """One line: json escapes the line breaks inside strings."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunReport:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a report is a JSON object")
        data["indexes"] = tuple(data.get("indexes", ()))
        data["stripped"] = tuple(data.get("stripped", ()))
        data["mismatches"] = tuple(
            Mismatch(name=m["name"], url=m["url"], expected=tuple(m["expected"]), got=tuple(m["got"]))
            for m in data.get("mismatches", ())
        )
        return cls(**data)


def last_report(lines: bytes) -> RunReport | None:
    """The last complete report in what the runner wrote (a killed runner may leave half a line)."""
    for line in reversed(lines.splitlines()):
        try:
            return RunReport.from_json(line.decode("utf-8"))
        except (ValueError, KeyError, TypeError):
            continue
    return None
