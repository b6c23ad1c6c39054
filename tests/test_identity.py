"""One identity (issue 10, class 1): spellings an installer treats as one version, one project or one
distribution file are one thing to pinwarden, in the ledger, the comparison and every guard.

The class, not the example: every test runs over many spellings of the version, the project name and
the filename; the end-to-end tests run the real Poetry and pip-compile against an index that serves a
trusted version's file under another spelling with other bytes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_version

from pinwarden.shared.compare import compare
from pinwarden.shared.errors import PinwardenError
from pinwarden.shared.filenames import file_identity
from pinwarden.shared.ledger import Ledger, dumps, loads, loads_full
from pinwarden.shared.model import (
    FileHash,
    Finding,
    FindingKind,
    LockedFile,
    LockedRelease,
    NormalizedName,
    TrustHow,
    canonical_version,
)
from pinwarden.shared.trust import record

DEMO = NormalizedName("demo")
AT = "2026-11-25T00:00:00Z"
# Spellings of the version 1.0 that pip and Poetry take for it.
VERSION_SPELLINGS = ["1.0", "1.0.0", "1", "01.0", "1.00", "v1.0", "V1.0.0", "1.0.0.0", "0!1.0", " 1.0"[1:]]
# Spellings of 1.0 that a distribution filename can carry.
FILE_VERSIONS = ["1.0", "1.0.0", "1", "01.0", "1.00", "1.0.0.0"]
NAME_SPELLINGS = ["demo", "Demo", "DEMO"]


def h(n: int) -> FileHash:
    return FileHash("sha256", f"{n:064x}")


def release(
    version: str, *files: tuple[str | None, FileHash], lockfile: str = "poetry.lock"
) -> LockedRelease:
    return LockedRelease(
        name=DEMO, version=version, files=tuple(LockedFile(f, d) for f, d in files), lockfile=lockfile
    )


TRUSTED = record(
    Ledger(),
    [release("1.0", ("demo-1.0-py3-none-any.whl", h(1)), ("demo-1.0.tar.gz", h(2)))],
    how=TrustHow.INIT,
    at=AT,
)


def kinds(findings: tuple[Finding, ...]) -> list[tuple[FindingKind, str | None]]:
    return [(f.kind, f.filename) for f in findings]


# -- the canonical form ------------------------------------------------------------------------------


def test_canonical_version_is_packagings_for_known_shapes() -> None:
    shapes = [
        *VERSION_SPELLINGS,
        "1.0rc1",
        "1.0-RC1",
        "1.0c1",
        "1.0.post0",
        "1.0-1",
        "1.0_post_2",
        "1.0.dev0",
        "1.0a",
        "1.0+Local.1",
        "1.0+local-1",
        "2!1.0.0",
        "1.0.0a1.post2.dev3",
        "not a version",
        "1.0_1",
        "",
    ]
    for text in shapes:
        assert canonical_version(text) == canonicalize_version(text), text


_parts = st.lists(st.integers(0, 120), min_size=1, max_size=5)
_separators = st.sampled_from(["", ".", "-", "_"])


@st.composite
def version_texts(draw: st.DrawFn) -> str:
    release_part = ".".join(str(n).rjust(draw(st.integers(1, 3)), "0") for n in draw(_parts))
    text = draw(st.sampled_from(["", "v", "V", "0!", "3!"])) + release_part
    if draw(st.booleans()):
        text += draw(_separators) + draw(
            st.sampled_from(["a", "b", "rc", "c", "alpha", "beta", "pre", "preview", "RC"])
        )
        text += str(draw(st.integers(0, 30))) if draw(st.booleans()) else ""
    if draw(st.booleans()):
        text += draw(st.sampled_from([".post", "-post", "post", "-", ".rev", "r"])) + str(
            draw(st.integers(0, 9))
        )
    if draw(st.booleans()):
        text += draw(st.sampled_from([".dev", "-dev", "dev", "_dev"])) + str(draw(st.integers(0, 9)))
    if draw(st.booleans()):
        text += "+" + draw(st.from_regex(r"[a-zA-Z0-9]{1,4}([._-][a-zA-Z0-9]{1,4}){0,2}", fullmatch=True))
    return text


@settings(max_examples=600, deadline=None)
@given(version_texts())
def test_canonical_version_equals_packaging_on_generated_spellings(text: str) -> None:
    assert canonical_version(text) == canonicalize_version(text)


def test_a_huge_version_is_kept_as_text_not_a_crash() -> None:
    for text in ("9" * 5000, "1." + "0" * 5000, "1.0" + ".0" * 3000, "1rc" + "9" * 5000):
        assert canonical_version(text) == text  # no installer takes it for a version either


# -- values carry the canonical version ----------------------------------------------------------------


@pytest.mark.parametrize("spelling", VERSION_SPELLINGS)
def test_every_value_keys_by_the_canonical_version(spelling: str) -> None:
    locked = release(spelling)
    assert locked.key == (DEMO, "1")
    assert TRUSTED.get(DEMO, spelling) is not None
    assert Finding(kind=FindingKind.NEW_VERSION, project=DEMO, version=spelling, lockfile="x").key == (
        DEMO,
        "1",
    )


# -- the comparison ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", VERSION_SPELLINGS)
def test_a_trusted_version_under_another_spelling_is_the_trusted_version(spelling: str) -> None:
    same = release(spelling, ("demo-1.0-py3-none-any.whl", h(1)), ("demo-1.0.tar.gz", h(2)))
    assert compare(TRUSTED, [same]) == ()
    # Never a brand-new version trusted on first use: its new bytes are changes to trusted files.
    evil = release(spelling, ("demo-1.0-py3-none-any.whl", h(9)), ("demo-1.0.tar.gz", h(2)))
    assert kinds(compare(TRUSTED, [evil])) == [(FindingKind.CHANGED_FILE, "demo-1.0-py3-none-any.whl")]


@pytest.mark.parametrize("name", NAME_SPELLINGS)
@pytest.mark.parametrize("file_version", FILE_VERSIONS)
@pytest.mark.parametrize("spelling", ["1.0", "1.0.0", "1"])
def test_a_trusted_file_under_another_spelling_is_the_trusted_file(
    name: str, file_version: str, spelling: str
) -> None:
    wheel = f"{name}-{file_version}-py3-none-any.whl"
    sdist = f"{name}-{file_version}.tar.gz"
    same = release(spelling, (wheel, h(1)), (sdist, h(2)))
    assert compare(TRUSTED, [same]) == ()
    evil = release(spelling, (wheel, h(7)), (sdist, h(8)))
    assert sorted(kinds(compare(TRUSTED, [evil]))) == sorted(
        [(FindingKind.CHANGED_FILE, wheel), (FindingKind.CHANGED_FILE, sdist)]
    )


def test_wheel_identity_reads_tags_and_build_as_installers_do() -> None:
    base = file_identity("demo-1.0-py2.py3-none-any.whl", DEMO)
    assert file_identity("Demo-1.0.0-py3.py2-none-any.whl", DEMO) == base
    assert file_identity("demo-1.0-1-py2.py3-none-any.whl", DEMO) != base  # a build tag outranks
    assert file_identity("demo-1.0-01-py2.py3-none-any.whl", DEMO) == file_identity(
        "demo-1.0-1-py2.py3-none-any.whl", DEMO
    )
    assert file_identity("demo-1.0-py3-none-any.whl", DEMO) != base  # other tags: another wheel
    # pip reads an sdist's version after the project's name, whatever the archive.
    assert file_identity("cffi-1.0.2-2.tar.gz", NormalizedName("cffi")) == ("sdist", "cffi", "1.0.2.post2")
    for archive in ("demo-1.0.zip", "demo-1.0.tar.bz2", "DEMO-1.0.0.TGZ", "demo-01.0.tar.xz"):
        assert file_identity(archive, DEMO) == ("sdist", DEMO, "1"), archive


def test_a_respelled_version_from_a_requirements_file_is_checked_against_the_trusted_hashes() -> None:
    for spelling in VERSION_SPELLINGS:
        pinned = release(spelling, (None, h(1)), (None, h(2)), lockfile="requirements.txt")
        assert compare(TRUSTED, [pinned]) == ()
        added = release(spelling, (None, h(1)), (None, h(5)), lockfile="requirements.txt")
        assert kinds(compare(TRUSTED, [added])) == [
            (FindingKind.NEW_FILE, None),
            (FindingKind.MISSING_FILE, "demo-1.0.tar.gz"),
        ]


def test_recording_a_respelled_version_adds_to_the_trusted_release() -> None:
    for spelling in VERSION_SPELLINGS:
        grown = release(
            spelling, ("demo-1.0-py3-none-any.whl", h(1)), ("demo-1.0.tar.gz", h(2)), ("x.exe", h(3))
        )
        ledger = record(TRUSTED, [grown], how=TrustHow.APPROVAL, at=AT)
        assert list(ledger.releases) == [(DEMO, "1")]
        assert compare(ledger, [grown]) == ()


# -- the ledger ----------------------------------------------------------------------------------------


def _table(version: str, digest: FileHash, filename: str = "demo-1.0.tar.gz", at: str = AT) -> str:
    return (
        f'\n[projects.demo."{version}"]\ntrusted = [\n  {{ how = "init", at = "{at}" }},\n]\n'
        f'files = [\n  {{ file = "{filename}", hashes = ["{digest}"] }},\n]\n'
    )


@pytest.mark.parametrize("spelling", ["1.0.0", "1.0", "01.0", "v1", "1.0.0.0"])
def test_an_older_ledger_with_spelled_versions_loads_merged_and_is_written_canonically(spelling: str) -> None:
    text = "ledger-format = 1\n" + _table("1", h(1)) + _table(spelling, h(2), "demo-1.0-py3-none-any.whl")
    for reader in (loads, loads_full):
        ledger = reader(text)
        assert list(ledger.releases) == [(DEMO, "1")]
        written = dumps(ledger)
        assert '[projects.demo."1"]' in written and f'"{spelling}"' not in written
        assert loads(written) == ledger
        assert (
            compare(ledger, [release("1.0", ("demo-1.0.tar.gz", h(1)), ("demo-1.0-py3-none-any.whl", h(2)))])
            == ()
        )


@pytest.mark.parametrize("spelling", ["1.0.0", "1.0", "01.0", "v1"])
def test_two_spellings_giving_one_file_two_hashes_are_an_error(spelling: str) -> None:
    text = "ledger-format = 1\n" + _table("1", h(1)) + _table(spelling, h(2))
    for reader in (loads, loads_full):
        with pytest.raises(PinwardenError, match="two sha256 hashes"):
            reader(text)


def test_a_table_declared_twice_is_an_error_in_both_readers() -> None:
    for second in ('[projects.demo."1"]', "[projects.demo.'1']", '[projects."demo"."1"]'):
        text = (
            "ledger-format = 1\n"
            + _table("1", h(1))
            + _table("1", h(2)).replace('[projects.demo."1"]', second)
        )
        for reader in (loads, loads_full):
            with pytest.raises(PinwardenError):
                reader(text)


@pytest.mark.parametrize(
    "weak", ["md5:" + "a" * 32, "sha1:" + "a" * 40, "sha224:" + "a" * 56, "MD5:" + "A" * 32]
)
def test_weak_hashes_in_a_ledger_are_refused_by_both_readers(weak: str) -> None:
    for text in (
        "ledger-format = 1\n" + _table("1", h(1)).replace(f'"{h(1)}"', f'"{weak}"'),
        "ledger-format = 1\n" + _table("1", h(1)).replace(f'"{h(1)}"', f'"{h(1)}", "{weak}"'),
    ):
        for reader in (loads, loads_full):
            with pytest.raises(PinwardenError, match="strong"):
                reader(text)


def test_a_conflicting_ledger_stops_check_with_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(f"demo==1.0 --hash={h(1)}\n")
    (tmp_path / "pinwarden-ledger.toml").write_text(
        "ledger-format = 1\n" + _table("1", h(1)) + _table("1.0.0", h(2))
    )
    done = subprocess.run(
        [sys.executable, "-m", "pinwarden", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("pinwarden: error:") and len(done.stderr.splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_first_use_of_a_version_with_only_weak_hashes_or_none_is_a_question() -> None:
    from pinwarden.shared.decide import plan

    for files in ([], [("demo-2.0.tar.gz", FileHash("md5", "a" * 32))], [(None, FileHash("sha1", "b" * 40))]):
        fresh = release("2.0", *files)
        the_plan = plan(compare(TRUSTED, [fresh]))
        assert the_plan.first_use == () and [q.key for q in the_plan.questions] == [(DEMO, "2")], files


def test_diff_sees_one_version_whatever_the_old_ledger_spelled() -> None:
    from pinwarden.shared.ledger_diff import ChangeKind, diff

    old = loads_full("ledger-format = 1\n" + _table("1.0.0", h(1)))
    now = loads("ledger-format = 1\n" + _table("1", h(1)))
    assert diff(old, now) == ()
    grown = loads("ledger-format = 1\n" + _table("1", h(1)) + _table("1.1", h(3), "demo-1.1.tar.gz"))
    assert {c.kind for c in diff(old, grown)} == {ChangeKind.ADDED_VERSION, ChangeKind.ADDED_FILE}
    assert {c.version for c in diff(old, grown)} == {"1.1"}
    swapped = loads("ledger-format = 1\n" + _table("1", h(2)))
    assert ChangeKind.REPLACED_HASH in {c.kind for c in diff(old, swapped)}


def test_a_git_source_password_never_enters_the_ledger_and_old_ledgers_still_match() -> None:
    from pinwarden.shared.model import SourceKind

    def git(url: str, ref: str = "a" * 40) -> LockedRelease:
        return LockedRelease(
            name=DEMO,
            version="1.0",
            files=(),
            lockfile="poetry.lock",
            source_kind=SourceKind.GIT,
            source_url=url,
            source_reference=ref,
        )

    for url in ("https://user:s3cret@git.example/demo.git", "https://ghp_token@git.example/demo.git"):
        ledger = record(Ledger(), [git(url)], how=TrustHow.INIT, at=AT)
        text = dumps(ledger)
        assert "s3cret" not in text and "ghp_token" not in text and "****@" in text
        assert compare(ledger, [git(url)]) == ()
        assert kinds(compare(ledger, [git(url, "b" * 40)])) == [(FindingKind.CHANGED_FILE, url)]
        # A ledger written before masking holds the password: the same commit still matches.
        old = text.replace("user:****@", "user:s3cret@").replace("****@", "ghp_token@")
        assert compare(loads(old), [git(url)]) == ()
