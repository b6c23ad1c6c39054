"""The edge to git: a file's text at a revision, for `pinwarden diff`. Only `git` subprocesses here.

A path is read at a revision as a checkout of that revision would read it: each component looked
up in the commit's trees (`git ls-tree -z`), each symlink followed as committed there (its text is
its blob), never through the links the work tree has now (linkpath.py holds the rule).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath

from .errors import PinwardenError
from .linkpath import Entry, EntryKind, Resolved, repo_parts, resolve

# ls-tree's modes: a symlink is a blob with this mode; a submodule is a commit.
_LINK_MODE = "120000"


def _run(directory: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=directory, capture_output=True, check=False, timeout=60)
    except FileNotFoundError:
        raise PinwardenError("git is not installed: pinwarden diff reads the old ledger with git") from None


def _out(done: subprocess.CompletedProcess[bytes]) -> str:
    return done.stdout.decode("utf-8", "replace").strip()


def _checked(directory: Path, *args: str) -> bytes:
    """A git command that must succeed (reading objects git just listed): its output."""
    done = _run(directory, *args)
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip()
        raise PinwardenError(f"git {' '.join(args)} failed: {why}")
    return done.stdout


class Revision:
    """A commit of the git work tree at `top`, named `name` by the person. Its trees are listed
    once each, on demand (a path walks a few of them)."""

    def __init__(self, top: Path, name: str, commit: str) -> None:
        self.top, self.name, self.commit = top, name, commit
        self._trees: dict[tuple[str, ...], dict[str, tuple[str, str, str]] | None] = {}

    def short(self) -> str:
        """`HEAD (1a2b3c4)`: the name given and the commit it resolved to."""
        done = _run(self.top, "rev-parse", "--short", self.commit)
        return f"{self.name} ({_out(done)})" if done.returncode == 0 else self.name

    def read(self, path: Path, cwd: Path) -> tuple[Resolved, str | None]:
        """Where `path` (relative to `cwd`, or absolute) leads at this commit, and
        the UTF-8 text there (None: no file there, or a link to nothing: no ledger at all)."""
        label = f"{path} at {self.name}"
        top = PurePosixPath(self.top)
        parts = repo_parts(path, cwd=cwd, top=top, label=label)
        found = resolve(parts, self._entry, top=top, label=label)
        if not found.exists:
            return found, None
        *directory, name = found.file.split("/")
        listing = self._listing(tuple(directory)) or {}
        if name not in listing:  # resolve found it there: a listing that changed under us
            raise PinwardenError(f"{label}: git no longer lists {found.file}")
        data = _checked(self.top, "cat-file", "blob", listing[name][2])
        try:
            return found, data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PinwardenError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None

    def _entry(self, parts: tuple[str, ...]) -> Entry | None:
        listing = self._listing(parts[:-1])
        found = listing.get(parts[-1]) if listing is not None else None
        if found is None:
            return None
        mode, kind, oid = found
        if kind == "tree":
            return Entry(EntryKind.DIRECTORY)
        if kind == "blob" and mode == _LINK_MODE:
            return Entry(EntryKind.LINK, os.fsdecode(_checked(self.top, "cat-file", "blob", oid)))
        return Entry(EntryKind.FILE if kind == "blob" else EntryKind.OTHER)

    def _listing(self, parts: tuple[str, ...]) -> dict[str, tuple[str, str, str]] | None:
        """The entries of the directory `parts` (name -> mode, type, object), None if none is there."""
        if parts in self._trees:
            return self._trees[parts]
        oid: str | None = self.commit
        if parts:
            parent = self._listing(parts[:-1])
            entry = parent.get(parts[-1]) if parent is not None else None
            oid = entry[2] if entry is not None and entry[1] == "tree" else None
        self._trees[parts] = None if oid is None else self._ls_tree(oid)
        return self._trees[parts]

    def _ls_tree(self, oid: str) -> dict[str, tuple[str, str, str]]:
        entries: dict[str, tuple[str, str, str]] = {}
        for record in _checked(self.top, "ls-tree", "-z", oid).split(b"\0"):
            if record:
                meta, _, name = record.partition(b"\t")
                mode, kind, object_id = meta.decode("ascii").split(" ")
                entries[os.fsdecode(name)] = (mode, kind, object_id)
        return entries


def work_tree(directory: Path) -> Path:
    """The top of the git work tree holding `directory`, as the file system has it."""
    top = _run(directory, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise PinwardenError(f"{directory}: not a git repository (pinwarden diff compares with a revision)")
    return Path(os.fsdecode(top.stdout.rstrip(b"\n"))).resolve()


def revision(top: Path, name: str) -> Revision:
    """Raises PinwardenError when `name` names no commit."""
    if name.startswith("-"):  # an option to git, never a revision
        raise PinwardenError(f"{name!r}: no such git revision")
    done = _run(top, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
    if done.returncode != 0:
        raise PinwardenError(f"{name!r}: no such git revision")
    return Revision(top=top, name=name, commit=_out(done))


# ---------------------------------------------------------------------------------------------
# For `pinwarden accept-first-use`: where a pull request branched off, and committing the ledger


def merge_base(top: Path, base: str) -> Revision:
    """The commit where HEAD branched off `base` (what `git diff base...HEAD` compares with): the
    pull request's own changes, not those the base branch made since."""
    target = revision(top, base)
    done = _run(top, "merge-base", target.commit, "HEAD")
    if done.returncode != 0:
        raise PinwardenError(
            f"{base!r} and HEAD have no common commit (is the clone shallow? fetch-depth: 0)"
        )
    return Revision(top=top, name=f"the merge base of {base} and HEAD", commit=_out(done))


def current_branch(top: Path) -> str | None:
    """The branch HEAD is on; None when HEAD is detached (a pull request's merge commit)."""
    done = _run(top, "symbolic-ref", "--quiet", "--short", "HEAD")
    return _out(done) if done.returncode == 0 and _out(done) else None


def commit_only(top: Path, path: Path, message: str) -> str:
    """Commit the changes of one tracked file, whatever else is staged; the new commit's id."""
    relative = os.path.relpath(os.path.realpath(path), top)  # a symlinked ledger: its target changed
    _checked(top, "commit", "--quiet", "--no-verify", "--only", "-m", message, "--", relative)
    return _out(_run(top, "rev-parse", "--short", "HEAD"))
