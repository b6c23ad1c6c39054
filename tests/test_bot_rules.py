"""shared/bot.py, the dependency-bot gate's rules, on values: every class of lock change a pull
request can make besides a plain new version is refused, and a hash is only ever verified by bytes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.test_ledger import digest, ledger_of, release

from pinwarden.shared import bot
from pinwarden.shared.compare import compare
from pinwarden.shared.index.simple import IndexFile
from pinwarden.shared.model import FileHash, LockedFile, LockedRelease, SourceKind

TRUSTED = release("demo", "1.0")
LEDGER = ledger_of(TRUSTED)
INDEX = "http://127.0.0.1:1/simple/"


def reasons_for(*releases: LockedRelease, first_use: str = "trust") -> list[bot.Reason]:
    findings = compare(LEDGER, releases)
    return bot.trust_reasons(findings, releases, first_use)


def test_a_plain_new_version_passes_rule_two() -> None:
    assert reasons_for(TRUSTED, release("demo", "1.1")) == []


def _with_file(base: LockedRelease, filename: str, seed: str = "x") -> LockedRelease:
    return replace(base, files=(*base.files, LockedFile(filename, digest(seed))))


NEW = release("demo", "1.1")
CASES = {
    "changed-file": (
        replace(TRUSTED, files=(LockedFile(TRUSTED.files[0].filename, digest("evil")), *TRUSTED.files[1:])),
    ),
    "new-file": (_with_file(TRUSTED, "demo-1.0-cp312-none-any.whl"),),
    "missing-file": (replace(TRUSTED, files=TRUSTED.files[1:]),),
    "build-tag": (TRUSTED, _with_file(NEW, "demo-1.1-1-py3-none-any.whl")),
    "filename-mismatch": (TRUSTED, _with_file(NEW, "other-1.1-py3-none-any.whl")),
    "weak-hash": (TRUSTED, replace(NEW, files=(LockedFile("demo-1.1.tar.gz", FileHash("md5", "0" * 32)),))),
    "local-version": (release("demo", "1.0+bot"),),
    "direct-url": (
        TRUSTED,
        replace(NEW, source_kind=SourceKind.URL, version_from_filename=True, lockfile="r.txt"),
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_anything_but_a_new_version_is_refused(kind: str) -> None:
    found = reasons_for(*CASES[kind])
    assert any(r.rule == "trusted" and r.detail.startswith(kind) for r in found), found


@pytest.mark.parametrize("kind", [SourceKind.GIT, SourceKind.URL, SourceKind.FILE])
def test_a_new_version_from_no_index_is_refused(kind: SourceKind) -> None:
    fresh = replace(NEW, source_kind=kind, source_url="https://example.invalid/demo", source_reference="abc")
    assert any("no index serves bytes to verify" in r.detail for r in reasons_for(TRUSTED, fresh))


def test_first_use_ask_is_refused() -> None:
    assert [r.subject for r in reasons_for(TRUSTED, NEW, first_use="ask")] == ["[tool.pinwarden] first-use"]


def test_index_rules() -> None:
    assert bot.index_reasons(NEW, (INDEX,), {INDEX.rstrip("/")}) == []
    assert bot.index_reasons(NEW, (INDEX, "https://evil.invalid/simple/"), {INDEX})[0].detail.startswith(
        "https://evil.invalid/simple/"
    )
    assert "is new in this pull request" in bot.index_reasons(NEW, (INDEX,), None)[0].detail


def _served(filename: str, data: str, listed: str | None = None) -> IndexFile:
    hashes = (digest(listed),) if listed is not None else ()
    return IndexFile(filename=filename, url=f"{INDEX}../files/{filename}", hashes=hashes)


def _download(file: IndexFile, data: str) -> bot.Download:
    return bot.Download(file=file, index=INDEX, computed={"sha256": digest(data)})


def test_a_named_hash_is_verified_by_every_served_copy() -> None:
    locked = LockedRelease(
        name=NEW.name,
        version="1.1",
        files=(LockedFile("demo-1.1.tar.gz", digest("good")),),
        lockfile="poetry.lock",
    )
    good = _served("demo-1.1.tar.gz", "good", "good")
    assert bot.hash_reasons(locked, [_download(good, "good")]) == []
    # A second index serving other bytes under the name: refused, whatever the first one serves.
    other = replace(good, url="http://127.0.0.2/files/demo-1.1.tar.gz", hashes=())
    found = bot.hash_reasons(locked, [_download(good, "good"), _download(other, "evil")])
    assert [r.rule for r in found] == ["hash"]
    assert bot.hash_reasons(locked, []) and "does not serve" in bot.hash_reasons(locked, [])[0].detail


def test_a_page_that_lists_the_locked_hash_for_other_bytes_is_refused() -> None:
    """The page's claim is the lock's hash, the bytes are not: a lie, and the hash stays unverified."""
    locked = replace(NEW, files=(LockedFile(None, digest("good")),))
    lying = _served("demo-1.1.tar.gz", "evil", listed="good")
    details = [r.detail for r in bot.hash_reasons(locked, [_download(lying, "evil")])]
    assert any("lists" in d and "but its bytes give" in d for d in details)
    assert any("no file the index serves" in d for d in details)


def test_a_hash_without_a_filename_is_verified_by_some_file_of_the_version() -> None:
    locked = replace(NEW, files=(LockedFile(None, digest("wheel")), LockedFile(None, digest("sdist"))))
    files = [_served("demo-1.1-py3-none-any.whl", "wheel"), _served("demo-1.1.tar.gz", "sdist")]
    chosen = bot.files_to_hash(locked, [(f, INDEX) for f in files])
    assert len(chosen) == 2  # the page lists no hashes: every file is downloaded
    assert bot.hash_reasons(locked, [_download(files[0], "wheel"), _download(files[1], "sdist")]) == []
    assert len(bot.hash_reasons(locked, [_download(files[0], "wheel")])) == 1


def test_only_files_the_page_claims_are_downloaded_for_an_unnamed_hash() -> None:
    locked = replace(NEW, files=(LockedFile(None, digest("wheel")),))
    files = [
        _served("demo-1.1-py3-none-any.whl", "wheel", "wheel"),
        _served("demo-1.1.tar.gz", "sdist", "sdist"),
    ]
    assert [f.filename for f, _ in bot.files_to_hash(locked, [(f, INDEX) for f in files])] == [
        files[0].filename
    ]
    assert bot.algorithms_for(locked, replace(files[0], hashes=(FileHash("sha512", "a" * 128),))) == [
        "sha256",
        "sha512",
    ]
