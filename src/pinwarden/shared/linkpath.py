"""Where a path leads through symlinks, in a tree that need not be the file system. Pure.

`pinwarden diff` must read the ledger at a revision exactly as a checkout of that revision would,
following the symlinks committed there, not those of the work tree; and it must read the ledger of
the work tree exactly as `check` does. Both sides are resolved here, by one rule, over a lookup the
caller gives (git trees, or the work tree): POSIX's rule, component by component, a link's text
taking its place, `..` applied after the link it follows. The walk stays lexically inside the
repository: a path that climbs out of it is an error, never followed, because nothing outside has
a history a reviewer sees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath, PurePosixPath

from .errors import PinwardenError

MAX_LINKS = 40  # Linux's limit before ELOOP: a chain this long is a loop


class EntryKind(Enum):
    FILE = "file"
    DIRECTORY = "directory"
    LINK = "link"
    OTHER = "other"  # a submodule, a nested repository, `.git`, a device: no history of ours


@dataclass(frozen=True, slots=True)
class Entry:
    kind: EntryKind
    target: str = ""  # a link's text


# An entry's repository-relative path (its parts) -> what is there, or None when nothing is.
Lookup = Callable[[tuple[str, ...]], Entry | None]


@dataclass(frozen=True, slots=True)
class Link:
    at: str  # where the link is, relative to the repository
    target: str  # its text, as committed or as on disk

    def __str__(self) -> str:
        return f"{self.at} -> {self.target}"

    def as_json(self) -> dict[str, str]:
        return {"link": self.at, "target": self.target}


@dataclass(frozen=True, slots=True)
class Resolved:
    """The file a path leads to (relative to the repository), the links followed on the way, in
    order, and whether a file is there (False: nothing, or a link to nothing)."""

    file: str
    links: tuple[Link, ...]
    exists: bool

    @property
    def dangling(self) -> bool:
        return not self.exists and bool(self.links)

    def chain(self) -> str:
        return ", then ".join(map(str, self.links)) if self.links else "(no symlinks)"


def resolve(parts: Sequence[str], lookup: Lookup, *, top: PurePosixPath, label: str) -> Resolved:
    """Follow `parts` (relative to the repository at `top`) through `lookup`.

    Raises PinwardenError for a walk that leaves the repository, a loop, a directory at the end, or
    a path through something that is neither a directory nor a link (a submodule, `.git`).
    `label` names the path in those messages.
    """
    done: list[str] = []  # the directories reached so far: no links among them
    todo = list(parts)
    links: list[Link] = []
    while todo:
        name = todo.pop(0)
        if name in ("", "."):
            continue
        if name == "..":
            if not done:
                raise _outside(label, links)
            done.pop()
            continue
        entry = lookup((*done, name))
        here = "/".join((*done, name))
        if entry is None:
            return Resolved(file="/".join((here, *todo)), links=tuple(links), exists=False)
        if entry.kind is EntryKind.LINK:
            links.append(Link(here, entry.target))
            if len(links) > MAX_LINKS:
                looped = _chain(list(dict.fromkeys(links)))  # each link once: the loop, not 40 laps
                raise PinwardenError(f"{label}: too many levels of symlinks (a loop): {looped}")
            if not entry.target:  # the OS reads an empty link as nothing at all
                return Resolved(file=here, links=tuple(links), exists=False)
            done, todo = _follow(entry.target, done, todo, top=top, label=label, links=links)
            continue
        if entry.kind is EntryKind.DIRECTORY and todo:
            done.append(name)
            continue
        if entry.kind is EntryKind.FILE:
            # A file with more to walk is ENOTDIR to the OS: no ledger there.
            return Resolved(file="/".join((here, *todo)), links=tuple(links), exists=not todo)
        if entry.kind is EntryKind.DIRECTORY:
            raise PinwardenError(f"{label}: {_via(here, links)} is a directory, not a file")
        raise PinwardenError(
            f"{label}: {_via(here, links)} is not a plain directory or file of this repository "
            "(a submodule, another repository, .git or a special file): git has no history of it here"
        )
    # Only directories were walked (a trailing `/`, `.` or `..`): the path names one.
    where = "/".join(done) or "the top of the git work tree"
    raise PinwardenError(f"{label}: {_via(where, links)} is a directory, not a file")


def _follow(
    target: str, done: list[str], todo: list[str], *, top: PurePosixPath, label: str, links: list[Link]
) -> tuple[list[str], list[str]]:
    """The walk after a link: its text replaces it, from the link's directory or, when absolute,
    from the file system's root, which must pass through the top of the work tree. Split by hand:
    an empty component (`a//b`, `dir/`) is `.`, so `dir/` still requires a directory, as for the OS."""
    names = ["." if name == "" else name for name in target.split("/")]
    if not target.startswith("/"):
        return done, [*names, *todo]
    rest = names[1:]
    for want in top.parts[1:]:
        while rest and rest[0] == ".":
            rest.pop(0)
        if not rest or rest[0] != want:
            raise _outside(label, links)
        rest.pop(0)
    return [], [*rest, *todo]


def repo_parts(path: PurePath, *, cwd: PurePath, top: PurePosixPath, label: str) -> tuple[str, ...]:
    """`path` (relative to `cwd`, or absolute) relative to the top of the work tree, lexically:
    nothing is resolved, so `..` and links are left to `resolve`."""
    absolute = path if path.is_absolute() else cwd / path
    if absolute.parts[: len(top.parts)] != top.parts:
        raise _outside(label, [])
    return absolute.parts[len(top.parts) :]


def _outside(label: str, links: list[Link]) -> PinwardenError:
    if links:
        return PinwardenError(f"{label}: symlinks lead outside the git work tree: {_chain(links)}")
    return PinwardenError(f"{label}: outside the git work tree, so git has no history of it")


def _via(here: str, links: list[Link]) -> str:
    return f"{here} (through {_chain(links)})" if links else here


def _chain(links: Sequence[Link]) -> str:
    return ", then ".join(map(str, links))
