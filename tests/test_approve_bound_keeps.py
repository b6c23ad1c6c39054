"""An approval bound to some digests (`approve X==V --from-index --hash D`, the command every refusal
of a new file prints) adds those files and leaves the version's other trusted files as they were: it
does not mark them gone, which would make them changes to review ("missing-file") at the next diff."""

from __future__ import annotations

from pinwarden.shared.approval import judge
from pinwarden.shared.ledger import Ledger
from pinwarden.shared.model import FileHash, LockedFile, LockedRelease, TrustHow, normalize_name
from pinwarden.shared.trust import record

NAME = normalize_name("demo")
W = LockedFile("demo-1.0-py3-none-any.whl", FileHash("sha256", "a" * 64))
S = LockedFile("demo-1.0.tar.gz", FileHash("sha256", "b" * 64))
T = LockedFile("demo-1.0-1-py3-none-any.whl", FileHash("sha256", "c" * 64))


def _release(*files: LockedFile) -> LockedRelease:
    return LockedRelease(name=NAME, version="1.0", files=files, lockfile="uv.lock")


def test_a_bound_approval_keeps_the_other_trusted_files() -> None:
    trusted = record(Ledger(), [_release(W, S)], how=TrustHow.INIT, at="2026-01-01T00:00:00Z")
    judged = judge(trusted, [_release(W, S, T)], [T.hash])
    assert [f.filename for f in judged.releases[0].files] == [T.filename]
    after = record(
        trusted,
        judged.releases,
        how=TrustHow.APPROVAL,
        at="2026-01-02T00:00:00Z",
        served={W.hash, S.hash, T.hash},
    )
    files = {f.filename: f.vanished for f in after.releases[(NAME, "1")].files}
    assert files == {W.filename: False, S.filename: False, T.filename: False}


def test_a_bound_approval_leaves_a_vanished_file_vanished() -> None:
    trusted = record(Ledger(), [_release(W, S)], how=TrustHow.INIT, at="2026-01-01T00:00:00Z")
    trusted = record(trusted, [_release(W)], how=TrustHow.APPROVAL, at="2026-01-02T00:00:00Z")
    judged = judge(trusted, [_release(W, T)], [T.hash])
    after = record(
        trusted, judged.releases, how=TrustHow.APPROVAL, at="2026-01-03T00:00:00Z", served={W.hash, T.hash}
    )
    files = {f.filename: f.vanished for f in after.releases[(NAME, "1")].files}
    assert files == {W.filename: False, S.filename: True, T.filename: False}


def test_an_unbound_approval_still_takes_unlisted_files_as_gone() -> None:
    trusted = record(Ledger(), [_release(W, S)], how=TrustHow.INIT, at="2026-01-01T00:00:00Z")
    after = record(trusted, [_release(W, T)], how=TrustHow.APPROVAL, at="2026-01-02T00:00:00Z")
    files = {f.filename: f.vanished for f in after.releases[(NAME, "1")].files}
    assert files == {W.filename: False, S.filename: True, T.filename: False}
