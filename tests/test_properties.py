"""Properties of the core, over generated ledgers and locks (hypothesis).

- an untrusted hash is never classified as trusted;
- approving then checking passes;
- findings do not depend on the order of releases or files;
- a rejected version cut down to its trusted files holds nothing untrusted.
"""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from pinwarden.shared.compare import compare, trusted_subset
from pinwarden.shared.ledger import Ledger, dumps, loads
from pinwarden.shared.model import (
    FileHash,
    FindingKind,
    LockedFile,
    LockedRelease,
    NormalizedName,
    SourceKind,
    TrustHow,
)
from pinwarden.shared.trust import ConflictingLocks, record

EXAMPLES = 2000 if os.environ.get("PINWARDEN_NIGHTLY") else 150
AT = "2026-11-25T00:00:00Z"
UNTRUSTING = {
    FindingKind.NEW_VERSION,
    FindingKind.NEW_FILE,
    FindingKind.CHANGED_FILE,
    FindingKind.WEAK_HASH,
    FindingKind.FILENAME_MISMATCH,
}

projects = st.sampled_from([NormalizedName(n) for n in ("demo", "other", "zope-x")])
versions = st.sampled_from(["1.0", "1.1", "2.0"])
# A small pool of digests and names, so that generated locks collide with the ledger often.
digests = st.builds(
    lambda algorithm, n: FileHash(algorithm, f"{n:x}".rjust({"sha256": 64, "sha512": 128}[algorithm], "0")),
    st.sampled_from(["sha256", "sha256", "sha512"]),
    st.integers(1, 12),
)
weak_digests = st.integers(1, 4).map(lambda n: FileHash("md5", f"{n:x}".rjust(32, "0")))


def filenames(project: str, version: str) -> st.SearchStrategy[str | None]:
    dist = project.replace("-", "_")
    return st.sampled_from(
        [
            None,
            f"{dist}-{version}.tar.gz",
            f"{dist}-{version}-py3-none-any.whl",
            f"{dist}-{version}-1-py3-none-any.whl",
            f"{dist}-{version}-cp311-cp311-manylinux_2_17_x86_64.whl",
            "evil-9.9-py3-none-any.whl",
        ]
    )


@st.composite
def releases(draw: st.DrawFn, *, weak: bool = False) -> LockedRelease:
    project, version = draw(projects), draw(versions)
    entries = draw(
        st.lists(
            st.tuples(filenames(project, version), st.one_of(digests, weak_digests) if weak else digests),
            max_size=6,
            unique_by=lambda e: e[0] or str(e[1]),  # a lock names each file once
        )
    )
    lockfile = "requirements.txt" if all(f is None for f, _ in entries) and entries else "poetry.lock"
    return LockedRelease(
        name=project,
        version=version,
        files=tuple(LockedFile(f, d) for f, d in entries),
        lockfile=lockfile,
    )


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    ledger = Ledger()
    for release in draw(st.lists(releases(), max_size=5)):
        ledger = record(ledger, [release], how=draw(st.sampled_from(list(TrustHow))), at=AT)
    return ledger


def trusted_hashes(ledger: Ledger, release: LockedRelease, filename: str | None) -> set[FileHash]:
    trusted = ledger.get(release.name, release.version)
    if trusted is None:
        return set()
    return {h for f in trusted.files if filename is None or f.filename in (None, filename) for h in f.hashes}


@settings(max_examples=EXAMPLES, deadline=None)
@given(ledgers(), st.lists(releases(weak=True), max_size=4))
def test_an_untrusted_hash_is_never_passed_as_trusted(ledger: Ledger, locked: list[LockedRelease]) -> None:
    findings = compare(ledger, locked)
    flagged = {(f.project, f.version) for f in findings if f.kind in UNTRUSTING}
    for release in locked:
        if (release.name, release.version) in flagged:
            continue
        for file in release.files:
            assert file.hash.strong, "a weak hash passed"
            assert file.hash in trusted_hashes(ledger, release, file.filename), (file, findings)


@settings(max_examples=EXAMPLES, deadline=None)
@given(ledgers(), st.lists(releases(), max_size=4))
def test_approving_then_checking_passes(ledger: Ledger, locked: list[LockedRelease]) -> None:
    keys = {r.key for r in locked}
    try:
        approved = record(ledger, locked, how=TrustHow.APPROVAL, at=AT)
    except ConflictingLocks:
        named = [(r.key, f.filename, f.hash.algorithm, f.hash) for r in locked for f in r.files if f.filename]
        assert len({n[:3] for n in named}) < len(set(named)), "refused locks that agree"
        return
    findings = compare(approved, locked)
    # A release of a hashed source (index, URL, local file) locked without any strong hash stays a
    # finding after any approval: nothing pins what it would install.
    hashless = {
        r.key
        for r in locked
        if r.source_kind in (SourceKind.INDEX, SourceKind.URL, SourceKind.FILE)
        and not any(f.hash.strong for f in r.files)
    }
    assert all(f.kind is FindingKind.WEAK_HASH and f.key in hashless for f in findings), findings
    assert loads(dumps(approved)) == approved
    untouched = {k: v for k, v in ledger.releases.items() if k not in keys}
    assert {k: v for k, v in approved.releases.items() if k not in keys} == untouched


@settings(max_examples=EXAMPLES, deadline=None)
@given(ledgers(), st.lists(releases(weak=True), max_size=4), st.randoms(use_true_random=False))
def test_findings_do_not_depend_on_order(ledger: Ledger, locked: list[LockedRelease], rng: object) -> None:
    import random

    assert isinstance(rng, random.Random)
    shuffled = []
    for release in locked:
        files = list(release.files)
        rng.shuffle(files)
        shuffled.append(
            LockedRelease(
                name=release.name, version=release.version, files=tuple(files), lockfile=release.lockfile
            )
        )
    rng.shuffle(shuffled)
    assert compare(ledger, shuffled) == compare(ledger, locked)


@settings(max_examples=EXAMPLES, deadline=None)
@given(ledgers(), releases(weak=True))
def test_a_rejected_version_keeps_only_trusted_files(ledger: Ledger, release: LockedRelease) -> None:
    kept = trusted_subset(ledger, release)
    assert set(kept.files) <= set(release.files)
    # About files only: a never-trusted version cut down to nothing is still a new version with no hash.
    kinds = {f.kind for f in compare(ledger, [kept]) if f.hash is not None or f.filename is not None}
    assert not kinds & (UNTRUSTING - {FindingKind.NEW_VERSION})
    for file in kept.files:
        assert file.hash in trusted_hashes(ledger, release, file.filename)
