"""What the pip-compile runner (a child process) tells the wrapper, as one small JSON file.

The runner owns everything pip-tools: it reads the effective options, prepares a private copy of
the output file, runs pip-compile on it and reports here. The wrapper never imports pip, so
pinwarden adds one process start to a pip-compile run, not a second import of pip.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
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
    indexes: tuple[str, ...] = ()  # the index URLs pip used, in pip's order
    no_index: bool = False
    stripped: tuple[str, ...] = ()  # NAME==VERSION pins re-hashed because the ledger no longer trusts them
    informational: bool = False  # --help or --version: pip-compile printed it, nothing else to do
    error: str | None = None  # a one-line reason the run could not happen
    mismatches: tuple[Mismatch, ...] = field(default_factory=tuple)

    def updated(self, **changes: Any) -> RunReport:
        return replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> RunReport:
        data = json.loads(text)
        data["indexes"] = tuple(data.get("indexes", ()))
        data["stripped"] = tuple(data.get("stripped", ()))
        data["mismatches"] = tuple(
            Mismatch(name=m["name"], url=m["url"], expected=tuple(m["expected"]), got=tuple(m["got"]))
            for m in data.get("mismatches", ())
        )
        return cls(**data)

    def save(self, path: Path) -> None:
        """Replace the file whole, so the wrapper never reads half a report."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)
