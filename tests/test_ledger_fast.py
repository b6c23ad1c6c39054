"""The canonical-text fast path reads exactly what the general TOML path reads, or declines."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pinwarden.shared.errors import InputError
from pinwarden.shared.ledger import Ledger, dumps, loads, loads_full
from pinwarden.shared.ledger_fast import fast_loads
from pinwarden.shared.model import FileHash, LockedFile, LockedRelease, TrustHow, normalize_name
from pinwarden.shared.trust import record

names = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)
versions = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}(rc[0-9])?", fullmatch=True)
digests = st.sampled_from(["sha256", "sha384", "sha512"]).flatmap(
    lambda a: st.binary(min_size=8, max_size=8).map(
        lambda b: FileHash(a, (b.hex() * 32)[: {"sha256": 64, "sha384": 96, "sha512": 128}[a]])
    )
)
filenames = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_.+-]{1,30}\.(whl|tar\.gz|zip)", fullmatch=True))
reasons = st.one_of(st.none(), st.text(max_size=30))
# A trust event's `since` (init of a lock with a git history); None: dated from `at`.
sinces = st.one_of(st.none(), st.sampled_from(["2024-01-02T03:04:05Z", "2026-11-24T23:59:59Z"]))


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    ledger = Ledger()
    for _ in range(draw(st.integers(0, 6))):
        # A lock names each file once (locks that disagree are refused: trust.ConflictingLocks).
        files = draw(
            st.lists(st.tuples(filenames, digests), max_size=5, unique_by=lambda e: e[0] or str(e[1]))
        )
        release = LockedRelease(
            name=normalize_name(draw(names)),
            version=draw(versions),
            files=tuple(LockedFile(f, d) for f, d in files),
            lockfile="poetry.lock",
        )
        how = draw(st.sampled_from(list(TrustHow)))
        since = draw(sinces)
        ledger = record(
            ledger,
            [release],
            how=how,
            at="2026-11-25T00:00:00Z",
            reason=draw(reasons),
            since={release.key: since} if since else None,
        )
    return ledger


@settings(max_examples=150, deadline=None)
@given(ledgers())
def test_both_paths_read_canonical_text_alike(ledger: Ledger) -> None:
    text = dumps(ledger)
    assert loads_full(text) == ledger
    assert loads(text) == ledger
    assert dumps(loads(text)) == text


@settings(max_examples=150, deadline=None)
@given(ledgers(), st.randoms(use_true_random=False))
def test_fast_path_declines_or_agrees_on_edited_text(ledger: Ledger, rng: random.Random) -> None:
    lines = dumps(ledger).split("\n")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines))
        edit = rng.choice(["drop", "dup", "swap", "char"])
        if edit == "drop":
            del lines[i]
        elif edit == "dup":
            lines.insert(i, lines[i])
        elif edit == "swap" and len(lines) > 1:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif lines[i]:
            k = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:k] + rng.choice('"\\ =[]{},x0\t') + lines[i][k + 1 :]
    text = "\n".join(lines)
    fast = fast_loads(text)
    try:
        full = loads_full(text)
    except InputError:
        assert fast is None, "the fast path accepted a ledger the full path rejects"
        return
    assert fast is None or Ledger(fast) == full
