"""Editing `--hash` options in pip-compile output, leaving every other byte as it was. Pure.

Two edits: a rejected version keeps only its trusted hashes (`keep_hashes`), and a pin whose
hashes the ledger no longer trusts loses them all in the runner's private copy (`untrusted_pins`),
so that pip-compile hashes it afresh instead of reusing bytes the ledger has since replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ..shared.errors import InputError
from ..shared.ledger import Ledger
from ..shared.locks.requirements import parse_requirements
from ..shared.model import FileHash, InvalidValue, NormalizedName, SourceKind

Key = tuple[NormalizedName, str]
KeepHash = Callable[[Key, FileHash], bool]

_COMMENT = re.compile(r"(^|\s+)#.*$")
_HASH_TOKEN = re.compile(r"\s*--hash(?:=|\s+)(\S+)")
_CONTINUATION = re.compile(r"\s*\\$")
_ANY_HASH = re.compile(r"--hash[=\s]\s*([a-z0-9]+:[0-9a-f]+)")


def keep_hashes(text: str, keep: KeepHash) -> str:
    """Drop each `--hash` whose (pin, hash) `keep` refuses; a line left empty goes, the rest stays."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    for block in _logical_blocks(lines):
        key = _pin_of(block)
        out.extend(block if key is None else _edit_block(block, key, keep))
    return "".join(out)


def untrusted_pins(text: str, ledger: Ledger) -> list[Key]:
    """Pins of versions the ledger knows whose listed hashes are not all trusted for that version.

    A file pinwarden cannot read (no hashes yet, say) has nothing to compare: pip-compile reads it.
    """
    if _all_hashes_known(text, ledger):  # the usual case, without parsing a requirement
        return []
    try:
        lock = parse_requirements(text, "output")
    except InputError:
        return []
    found: list[Key] = []
    for release in lock.releases:
        trusted = ledger.get(release.name, release.version)
        if trusted is None or release.source_kind is not SourceKind.INDEX:
            continue
        allowed = {h for f in trusted.files for h in f.hashes}
        if any(f.hash not in allowed for f in release.files) and release.key not in found:
            found.append(release.key)
    return found


def _all_hashes_known(text: str, ledger: Ledger) -> bool:
    """Every `--hash` in the text is trusted for some version: then none is untrusted for its own
    (one file's bytes name their version, so a hash does not move between versions)."""
    listed = set(_ANY_HASH.findall(text.lower()))
    if not listed:
        return True
    known = {str(h) for release in ledger.releases.values() for f in release.files for h in f.hashes}
    return listed <= known


def _logical_blocks(lines: list[str]) -> Iterator[list[str]]:
    """Physical lines grouped as pip joins them: a line ending in `\\` continues on the next."""
    block: list[str] = []
    for line in lines:
        block.append(line)
        body = _body(line)
        if not (_COMMENT.sub("", body).endswith("\\") and not _COMMENT.match(body)):
            yield block
            block = []
    if block:
        yield block


def _body(line: str) -> str:
    return line.rstrip("\r\n")


def _pin_of(block: list[str]) -> Key | None:
    """The (project, version) a requirement block pins, read with pinwarden's own parser."""
    first = _body(block[0]).lstrip()
    if not first or first.startswith(("#", "-")) or "--hash" not in "".join(block):
        return None
    try:
        releases = parse_requirements("".join(block), "output").releases
    except (InputError, InvalidValue):
        return None
    return releases[0].key if len(releases) == 1 else None


def _edit_block(block: list[str], key: Key, keep: KeepHash) -> list[str]:
    def drop_refused(match: re.Match[str]) -> str:
        try:
            digest = FileHash.parse(match.group(1))
        except InvalidValue:
            return match.group(0)
        return match.group(0) if keep(key, digest) else ""

    edited: list[str] = []
    for position, line in enumerate(block):
        body = _body(line)
        new_body = _HASH_TOKEN.sub(drop_refused, body)
        emptied = new_body != body and not _CONTINUATION.sub("", new_body).strip()
        if position > 0 and emptied:
            continue
        edited.append(new_body + line[len(body) :])
    last = _body(edited[-1])
    if edited != block and _CONTINUATION.search(_COMMENT.sub("", last)) and not _COMMENT.match(last):
        # The line that followed was dropped: nothing may continue past the end of the block.
        edited[-1] = _CONTINUATION.sub("", last) + edited[-1][len(last) :]
    return edited
