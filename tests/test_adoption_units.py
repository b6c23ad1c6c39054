"""The pure parts of adoption with history: reading old lock revisions, the earliest date per
version, `--trusted-since`, and the ledger's `since` (both readers, only ever more cautious)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pinwarden.shared.adoption import first_locked, lock_versions, parse_trusted_since
from pinwarden.shared.errors import InputError
from pinwarden.shared.ledger import Ledger, dumps, loads, loads_full
from pinwarden.shared.ledger_fast import fast_loads
from pinwarden.shared.model import (
    FileHash,
    InvalidValue,
    LockedFile,
    LockedRelease,
    NormalizedName,
    TrustEvent,
    TrustHow,
)
from pinwarden.shared.signs import trusted_from
from pinwarden.shared.trust import adopt_new

AT = "2026-11-25T03:00:00Z"
DIGEST = FileHash("sha256", "ab" * 32)


def release(name: str, version: str) -> LockedRelease:
    return LockedRelease(
        name=NormalizedName(name),
        version=version,
        files=(LockedFile(f"{name}-{version}.tar.gz", DIGEST),),
        lockfile="poetry.lock",
    )


def test_old_poetry_lock_revisions_are_read_for_names_and_versions_only() -> None:
    text = b"""
[[package]]
name = "Demo_Pkg"
version = "1.0.0"
description = "x"

[package.dependencies]
version = "not this one"

[[package]]
name = "other"
version = "2"

[metadata]
content-hash = "x"
[metadata.files]
demo_pkg = []
"""
    assert lock_versions(text, "poetry.lock") == {("demo-pkg", "1"), ("other", "2")}
    assert lock_versions(b"\xff\xfe not toml [[[", "poetry.lock") == frozenset()


def test_old_requirements_revisions_are_read_for_pins() -> None:
    text = b"""--index-url https://example.invalid/simple/
Demo.Pkg[extra]==1.0.0 \\
    --hash=sha256:abc
other===2 ; python_version < "3.12"
# commented==1
unpinned>=3
"""
    assert lock_versions(text, "requirements") == {("demo-pkg", "1"), ("other", "2")}


def test_each_version_dates_from_its_earliest_revision() -> None:
    a, b = ("a", "1"), ("b", "2")
    history = [(300, frozenset({a, b})), (200, frozenset({b})), (100, frozenset({a}))]
    assert first_locked(history) == {a: 100, b: 200}


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2024-03-01", "2024-03-01T00:00:00Z"),
        ("2024-03-01T12:30:00Z", "2024-03-01T12:30:00Z"),
        ("2024-03-01T01:00:00+02:00", "2024-02-29T23:00:00Z"),
    ],
)
def test_trusted_since_spellings(given: str, stored: str) -> None:
    assert parse_trusted_since(given) == stored


@pytest.mark.parametrize("bad", ["2024-02-30", "2024-03-01T12:00:00", "1.5.2024", "2024-3-1", "now", ""])
def test_trusted_since_refuses_what_is_not_a_moment(bad: str) -> None:
    with pytest.raises(InvalidValue):
        parse_trusted_since(bad)


def test_since_is_one_line_of_the_event_and_both_readers_agree() -> None:
    ledger = adopt_new(
        Ledger(),
        [release("demo", "1"), release("other", "2")],
        how=TrustHow.INIT,
        at=AT,
        since={(NormalizedName("demo"), "1"): "2024-06-01T00:00:00Z"},
    )
    text = dumps(ledger)
    assert '  { how = "init", at = "2026-11-25T03:00:00Z", since = "2024-06-01T00:00:00Z" },\n' in text
    assert '  { how = "init", at = "2026-11-25T03:00:00Z" },\n' in text  # none given: none written
    assert fast_loads(text) is not None
    assert loads(text) == loads_full(text) == ledger


def test_a_since_not_earlier_than_the_event_is_not_recorded() -> None:
    ledger = adopt_new(
        Ledger(),
        [release("demo", "1")],
        how=TrustHow.INIT,
        at=AT,
        since={("demo", "1"): "2030-01-01T00:00:00Z"},
    )
    assert ledger.releases[("demo", "1")].history[0].since is None


@pytest.mark.parametrize("bad", ['"2024-06-01"', '"2024-13-01T00:00:00Z"', "2024-06-01T00:00:00Z", '""'])
def test_a_malformed_since_is_reported_by_the_full_reader_and_declined_by_the_fast_one(bad: str) -> None:
    text = dumps(adopt_new(Ledger(), [release("demo", "1")], how=TrustHow.INIT, at=AT))
    text = text.replace(f'at = "{AT}" }}', f'at = "{AT}", since = {bad} }}')
    assert fast_loads(text) is None
    with pytest.raises(InputError, match=r"projects\.demo\.\"1\"\.trusted\[0\]\.since"):
        loads(text)


def test_trust_dates_from_since_but_never_later_than_when_it_was_recorded() -> None:
    utc = timezone.utc
    early = TrustEvent(how=TrustHow.INIT, at=AT, since="2024-06-01T00:00:00Z")
    assert trusted_from(early) == datetime(2024, 6, 1, tzinfo=utc)
    # A hand-edited since after `at` cannot make the audit less cautious.
    late = TrustEvent(how=TrustHow.INIT, at=AT, since="2030-01-01T00:00:00Z")
    assert trusted_from(late) == datetime(2026, 11, 25, 3, tzinfo=utc)
    assert trusted_from(TrustEvent(how=TrustHow.INIT, at=AT)) == datetime(2026, 11, 25, 3, tzinfo=utc)
