"""The edge to git: a file's text at a revision, for `pinwarden diff`. Only `git` subprocesses here."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .errors import PinwardenError


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True, check=False, timeout=60
        )
    except FileNotFoundError:
        raise PinwardenError("git is not installed: pinwarden diff reads the old ledger with git") from None


def text_at(path: Path, revision: str) -> str | None:
    """`path`'s text at `revision` (`git show REV:path`); None when the file did not exist there.

    Raises PinwardenError when `path` is not in a git work tree or `revision` names no commit.
    """
    directory = path.parent.resolve()
    # git runs in the nearest directory that exists: a ledger's old place may be gone now.
    where = next(d for d in (directory, *directory.parents) if d.is_dir())
    top = _git(where, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise PinwardenError(f"{directory}: not a git repository (pinwarden diff compares with a revision)")
    if (
        revision.startswith("-")
        or _git(where, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").returncode
    ):
        raise PinwardenError(f"{revision!r}: no such git revision")
    try:
        relative = (directory / path.name).relative_to(Path(top.stdout.strip()).resolve()).as_posix()
    except ValueError:
        raise PinwardenError(f"{path}: outside the git work tree, so git has no history of it") from None
    spec = f"{revision}:{relative}"
    if _git(where, "cat-file", "-e", spec).returncode != 0:
        return None
    shown = subprocess.run(["git", "show", spec], cwd=where, capture_output=True, check=False, timeout=60)
    if shown.returncode != 0:
        raise PinwardenError(f"git show {spec} failed: {shown.stderr.decode(errors='replace').strip()}")
    try:
        return shown.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PinwardenError(f"{spec}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def short_revision(path: Path, revision: str) -> str:
    """`HEAD (1a2b3c4)`: the name given and the commit it resolved to."""
    done = _git(path.parent.resolve(), "rev-parse", "--short", f"{revision}^{{commit}}")
    return f"{revision} ({done.stdout.strip()})" if done.returncode == 0 else revision
