"""The edge to git: a file's text at a revision, for `pinwarden diff`, and a lock's history, for
`pinwarden init`. Only `git` subprocesses here.

A path is read at a revision as a checkout of that revision would read it: each component looked
up in the commit's trees (`git ls-tree -z`), each symlink followed as committed there (its text is
its blob), never through the links the work tree has now (linkpath.py holds the rule).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TypeVar

from .errors import PinwardenError
from .linkpath import Entry, EntryKind, Resolved, repo_parts, resolve

T = TypeVar("T")

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
# A lock's history, for `pinwarden init`: when did each version enter it?


def _quiet(directory: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    """A git command whose failure only means "no history here"; None when git is not installed."""
    try:
        return subprocess.run(["git", *args], cwd=directory, capture_output=True, check=False, timeout=60)
    except FileNotFoundError:
        return None


def file_history(path: Path, read: Callable[[bytes], T]) -> list[tuple[int, T]] | None:
    """`read` of every committed text of the file at `path` (renames followed), newest first, each
    with the earlier of its commit's author and committer times (epoch seconds): when it was
    written. Texts are read a few at a time, so a long history of a large lock fits in memory.

    None: the file is in no git work tree, or git is not installed. []: git has no commit of it
    (untracked, or a repository without commits). A shallow clone gives the history it has.
    """
    real = path.resolve()
    directory = real.parent
    top = _quiet(directory, "rev-parse", "--show-toplevel")
    if top is None or top.returncode != 0:
        return None
    head = _quiet(directory, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if head is None or head.returncode != 0:
        return []
    log = _checked(
        directory,
        "log",
        "--follow",
        "--no-ext-diff",
        "--no-textconv",
        "--no-abbrev",
        "--raw",
        "--format=%x00%at %ct",
        "--",
        real.name,
    )
    commits: list[tuple[int, str]] = []
    for record in log.split(b"\0")[1:]:
        lines = record.decode("utf-8", "replace").splitlines()
        author, committer = (int(t) for t in lines[0].split())
        # `:oldmode newmode oldblob newblob status<TAB>paths`: the file's blob after the commit.
        blobs = [line.split()[3] for line in lines[1:] if line.startswith(":")]
        if blobs and blobs[0].strip("0"):  # all zeros: the commit deleted it
            commits.append((min(author, committer), blobs[0]))
    oids = list(dict.fromkeys(oid for _, oid in commits))
    read_ones: dict[str, T] = {}
    for start in range(0, len(oids), _BATCH):
        chunk = oids[start : start + _BATCH]
        read_ones.update((oid, read(data)) for oid, data in zip(chunk, _blobs(directory, chunk), strict=True))
    return [(moment, read_ones[oid]) for moment, oid in commits]


_BATCH = 32  # blobs per `git cat-file --batch`: a few megabytes of a large lock at a time


def _blobs(directory: Path, oids: list[str]) -> list[bytes]:
    """The blobs named, in order, through one `git cat-file --batch`."""
    batch = "".join(f"{oid}\n" for oid in oids)
    try:
        done = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=directory,
            input=batch.encode("ascii"),
            capture_output=True,
            check=False,
            timeout=120,
        )
    except FileNotFoundError:
        raise PinwardenError("git is not installed") from None
    if done.returncode != 0:
        raise PinwardenError(f"git cat-file failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    found: list[bytes] = []
    data, at = done.stdout, 0
    for oid in oids:
        end = data.find(b"\n", at)
        header = data[at:end].decode("ascii", "replace").split()
        if end < 0 or len(header) != 3 or header[0] != oid or header[1] != "blob":
            raise PinwardenError(f"git cat-file: {oid} is not a blob")
        size = int(header[2])
        found.append(data[end + 1 : end + 1 + size])
        at = end + 1 + size + 1
    return found


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
