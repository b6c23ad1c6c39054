"""Short notices the guarded commands print as they write: first uses, paths as a person reads them.

Pure text: the callers (the Poetry plugin, the pip-compile wrapper, the CLI) print what these return.
One summary line by default, the per-version details on request (-v): a first `poetry lock` of a
real project trusts dozens of versions, and a line each buries what needs reading.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

Key = tuple[str, str]


def shown_path(path: Path, project: Path) -> str:
    """`path` as printed: relative to `project` when it lies inside it (as written, no symlink
    followed), else absolute."""
    absolute = Path(os.path.normpath(path.absolute()))
    root = Path(os.path.normpath(project.absolute()))
    if absolute == root or root in absolute.parents:
        return absolute.relative_to(root).as_posix() or "."
    return str(absolute)


def first_use_lines(keys: Sequence[Key], ledger: str, *, verbose: bool = False) -> list[str]:
    """One line for every version trusted on first use; with `verbose`, one more per version."""
    if not keys:
        return []
    count = "1 new version" if len(keys) == 1 else f"{len(keys)} new versions"
    details = [f"pinwarden: {name} {version} trusted on first use" for name, version in sorted(keys)]
    return [*(details if verbose else []), f"pinwarden: trusted {count} on first use ({ledger})"]
