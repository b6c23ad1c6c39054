"""The comparison engine and trust recording, on small hand-made releases."""

from __future__ import annotations

import random

import pytest
from packaging.utils import canonicalize_name

from pinwarden.shared.compare import compare
from pinwarden.shared.ledger import Ledger
from pinwarden.shared.model import (
    FileHash,
    FindingKind,
    LockedFile,
    LockedRelease,
    SourceKind,
    TrustHow,
    normalize_name,
)
from pinwarden.shared.trust import adopt_new, record

K = FindingKind
AT = "2026-11-25T00:00:00Z"


def h(n: int, algorithm: str = "sha256") -> FileHash:
    width = {"sha256": 64, "sha512": 128, "md5": 32}[algorithm]
    return FileHash(algorithm, f"{n:x}".rjust(width, "0"))


def rel(name: str, version: str, *files: tuple[str | None, FileHash], **kw: object) -> LockedRelease:
    return LockedRelease(
        name=normalize_name(name),
        version=version,
        files=tuple(LockedFile(f, digest) for f, digest in files),
        lockfile=str(kw.pop("lockfile", "poetry.lock")),
        **kw,  # type: ignore[arg-type]
    )


WHEEL = "demo-1.0-py3-none-any.whl"
SDIST = "demo-1.0.tar.gz"
BASE = rel("demo", "1.0", (WHEEL, h(1)), (SDIST, h(2)))


def trusted(*releases: LockedRelease) -> Ledger:
    return record(Ledger(), releases, how=TrustHow.INIT, at=AT)


def kinds(ledger: Ledger, *releases: LockedRelease) -> list[tuple[FindingKind, str | None]]:
    return [(f.kind, f.filename) for f in compare(ledger, releases)]


def test_trusted_release_has_no_findings() -> None:
    assert compare(trusted(BASE), [BASE]) == ()


def test_new_version_is_reported_once() -> None:
    assert kinds(trusted(BASE), rel("demo", "1.1", ("demo-1.1.tar.gz", h(3)))) == [(K.NEW_VERSION, None)]


def test_new_file_for_trusted_version() -> None:
    new = rel(
        "demo", "1.0", (WHEEL, h(1)), (SDIST, h(2)), ("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", h(3))
    )
    assert kinds(trusted(BASE), new) == [(K.NEW_FILE, "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")]


def test_changed_file_names_both_hashes() -> None:
    (finding,) = compare(trusted(BASE), [rel("demo", "1.0", (WHEEL, h(1)), (SDIST, h(9)))])
    assert finding.kind is K.CHANGED_FILE
    assert (finding.filename, finding.hash, finding.trusted_hash) == (SDIST, str(h(9)), str(h(2)))


def test_missing_file() -> None:
    assert kinds(trusted(BASE), rel("demo", "1.0", (WHEEL, h(1)))) == [(K.MISSING_FILE, SDIST)]


def test_build_tagged_wheel_is_new_file_with_warning() -> None:
    tagged = "demo-1.0-1-py3-none-any.whl"
    new = rel("demo", "1.0", (WHEEL, h(1)), (SDIST, h(2)), (tagged, h(3)))
    assert kinds(trusted(BASE), new) == [(K.NEW_FILE, tagged), (K.BUILD_TAG, tagged)]


def test_sdist_added_to_wheel_only_version() -> None:
    only_wheel = rel("demo", "1.0", (WHEEL, h(1)))
    new = rel("demo", "1.0", (WHEEL, h(1)), (SDIST, h(2)))
    assert kinds(trusted(only_wheel), new) == [(K.NEW_FILE, SDIST), (K.SDIST_ADDED, SDIST)]


def test_another_sdist_archive_of_a_trusted_version_is_the_same_file_with_other_bytes() -> None:
    # An installer takes any sdist of the version for the version: one identity, whatever the archive.
    for other in ("demo-1.0.zip", "demo-1.0.0.tar.bz2", "Demo-1.0.tgz", "demo-01.0.TAR.GZ"):
        new = rel("demo", "1.0", (WHEEL, h(1)), (SDIST, h(2)), (other, h(3)))
        assert kinds(trusted(BASE), new) == [(K.CHANGED_FILE, other)], other


def test_filename_of_another_version_is_a_finding() -> None:
    # packaging reads this as version 2 of "cffi-1-0-2": never take a filename's word for it.
    trap = rel("cffi", "1.0.2", ("cffi-1.0.2.tar.gz", h(1)))
    new = rel("cffi", "1.0.2", ("cffi-1.0.2.tar.gz", h(1)), ("cffi-1.0.2-2.tar.gz", h(2)))
    found = kinds(trusted(trap), new)
    assert (K.FILENAME_MISMATCH, "cffi-1.0.2-2.tar.gz") in found
    assert (K.NEW_FILE, "cffi-1.0.2-2.tar.gz") in found


def test_wheel_of_another_project_is_a_finding() -> None:
    new = rel("demo", "1.0", (WHEEL, h(1)), (SDIST, h(2)), ("evil-1.0-py3-none-any.whl", h(3)))
    assert (K.FILENAME_MISMATCH, "evil-1.0-py3-none-any.whl") in kinds(trusted(BASE), new)


def test_algorithm_switch_is_new_file_not_changed() -> None:
    switched = rel("demo", "1.0", (WHEEL, h(1, "sha512")), (SDIST, h(2)))
    (finding,) = compare(trusted(BASE), [switched])
    assert finding.kind is K.NEW_FILE
    assert finding.trusted_hash == str(h(1))


def test_weak_hash_is_never_trusted() -> None:
    weak = rel("demo", "1.0", (WHEEL, h(1, "md5")), (SDIST, h(2)))
    assert (K.WEAK_HASH, WHEEL) in kinds(trusted(BASE), weak)
    ledger = record(Ledger(), [weak], how=TrustHow.APPROVAL, at=AT)
    stored = ledger.get(normalize_name("demo"), "1.0")
    assert stored is not None
    assert [f.filename for f in stored.files] == [SDIST]


def test_requirements_hashes_match_by_hash_only() -> None:
    reqs = rel("demo", "1.0", (None, h(1)), (None, h(2)), lockfile="requirements.txt")
    assert compare(trusted(BASE), [reqs]) == ()


def test_requirements_replaced_hash_is_new_plus_missing() -> None:
    reqs = rel("demo", "1.0", (None, h(1)), (None, h(7)), lockfile="requirements.txt")
    assert kinds(trusted(BASE), reqs) == [(K.NEW_FILE, None), (K.MISSING_FILE, SDIST)]


def test_hashes_learnt_without_filename_get_named_later() -> None:
    from_reqs = trusted(rel("demo", "1.0", (None, h(1)), (None, h(2)), lockfile="requirements.txt"))
    assert compare(from_reqs, [BASE]) == ()
    named = record(from_reqs, [BASE], how=TrustHow.APPROVAL, at=AT).get(normalize_name("demo"), "1.0")
    assert named is not None
    assert sorted(f.filename or "" for f in named.files) == sorted([WHEEL, SDIST])


def test_vanished_file_is_kept_and_its_return_with_other_bytes_caught() -> None:
    approved_without = record(
        trusted(BASE), [rel("demo", "1.0", (WHEEL, h(1)))], how=TrustHow.APPROVAL, at=AT
    )
    assert compare(approved_without, [rel("demo", "1.0", (WHEEL, h(1)))]) == ()
    back_changed = rel("demo", "1.0", (WHEEL, h(1)), (SDIST, h(5)))
    assert kinds(approved_without, back_changed) == [(K.CHANGED_FILE, SDIST)]
    assert compare(approved_without, [BASE]) == ()


def test_approving_a_change_replaces_only_that_algorithm() -> None:
    ledger = record(
        trusted(BASE),
        [rel("demo", "1.0", (WHEEL, h(1, "sha512")), (SDIST, h(2)))],
        how=TrustHow.APPROVAL,
        at=AT,
    )
    stored = ledger.get(normalize_name("demo"), "1.0")
    assert stored is not None
    wheel = next(f for f in stored.files if f.filename == WHEEL)
    assert wheel.hashes == (h(1), h(1, "sha512"))
    assert [e.how for e in stored.history] == [TrustHow.INIT, TrustHow.APPROVAL]


def test_git_package_is_pinned_by_its_commit() -> None:
    git = {"source_kind": SourceKind.GIT, "source_url": "https://example.org/x.git"}
    a = rel("x", "1.0", source_reference="a" * 40, **git)
    b = rel("x", "1.0", source_reference="b" * 40, **git)
    assert compare(trusted(a), [a]) == ()
    (finding,) = compare(trusted(a), [b])
    assert finding.kind is K.CHANGED_FILE
    assert finding.hash == f"git+https://example.org/x.git@{'b' * 40}"


def test_directory_packages_are_not_guarded() -> None:
    local = rel("mine", "0.1", source_kind=SourceKind.DIRECTORY, source_url="../mine")
    assert compare(Ledger(), [local]) == ()


def test_adopt_new_never_touches_existing_trust() -> None:
    ledger = trusted(BASE)
    changed = rel("demo", "1.0", (WHEEL, h(1)), (SDIST, h(9)))
    assert adopt_new(ledger, [changed], how=TrustHow.INIT, at=AT) == ledger


def test_two_locks_of_one_version_are_merged() -> None:
    a = rel("demo", "1.0", (WHEEL, h(1)))
    b = rel("demo", "1.0", (None, h(2)), lockfile="requirements.txt")
    ledger = record(Ledger(), [a, b], how=TrustHow.INIT, at=AT)
    assert compare(ledger, [a, b]) == ()


@pytest.mark.parametrize("seed", range(20))
def test_findings_do_not_depend_on_order(seed: int) -> None:
    rng = random.Random(seed)
    files = [(f"demo-1.0-cp3{i}-cp3{i}-manylinux_2_17_x86_64.whl", h(i + 1)) for i in range(8)]
    ledger = trusted(rel("demo", "1.0", *files[:5]))
    locked = [*files[1:4], (files[4][0], h(99)), *files[5:]]
    others = [rel("other", f"{i}.0", (f"other-{i}.0.tar.gz", h(200 + i))) for i in range(3)]
    releases = [rel("demo", "1.0", *locked), *others]
    expected = compare(ledger, releases)
    rng.shuffle(locked)
    shuffled = [rel("demo", "1.0", *locked), *others]
    rng.shuffle(shuffled)
    assert compare(ledger, shuffled) == expected


@pytest.mark.parametrize(
    "name", ["Demo", "demo_pkg", "demo.pkg", "DEMO--pkg", "a", "zope.interface", "Foo__Bar..baz", "x-1"]
)
def test_name_normalization_matches_packaging(name: str) -> None:
    assert normalize_name(name) == canonicalize_name(name)
