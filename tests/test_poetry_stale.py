"""The plugin's commit never applies decisions taken against another ledger (issue 10, class 12: a
stale plan), and names a ledger outside the project when it writes it (class 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.test_poetry_flow import CHANGED, ORIGINAL, WITH_LATE, Recorder, digest, release

from pinwarden.poetry_plugin.flow import LedgerChanged, Warden
from pinwarden.shared.decide import Choice
from pinwarden.shared.ledger import Ledger
from pinwarden.shared.model import TrustHow
from pinwarden.shared.trust import record


def _project(tmp_path: Path, ledger: str | None = None) -> Warden:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\n' + (f'[tool.pinwarden]\nledger = "{ledger}"\n' if ledger else "")
    )
    (tmp_path / ".git").mkdir()
    return Warden(tmp_path, tmp_path / "poetry.lock")


def _trust(warden: Warden, *releases: object) -> None:
    with warden.store.locked():
        warden.store.save(record(warden.trusted(), releases, how=TrustHow.APPROVAL, at="t"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "meanwhile",
    [
        # Another process trusts other bytes for the version this run is about to trust on first use.
        release(("demo-2.0-py3-none-any.whl", digest("theirs")), version="2.0"),
        # ... or approves other bytes for the version this run approves.
        release(("demo-1.0-py3-none-any.whl", digest("theirs")), ("demo-1.0.tar.gz", digest("sdist"))),
    ],
)
def test_a_ledger_changed_before_the_commit_stops_it(tmp_path: Path, meanwhile: object) -> None:
    warden = _project(tmp_path)
    _trust(warden, ORIGINAL)
    ours = [WITH_LATE, release(("demo-2.0-py3-none-any.whl", digest("ours")), version="2.0")]
    recorder = Recorder([Choice.APPROVE])
    review = warden.review(ours, recorder.hooks(), writes=True)
    _trust(warden, meanwhile)
    before = warden.store.path.read_bytes()
    written: list[bool] = []
    with pytest.raises(LedgerChanged, match="the ledger changed"):
        warden.commit(review, recorder.hooks(), lambda: written.append(True))
    assert not written and warden.store.path.read_bytes() == before


def test_a_change_that_judges_the_lock_the_same_way_commits(tmp_path: Path) -> None:
    warden = _project(tmp_path)
    _trust(warden, ORIGINAL)
    recorder = Recorder([Choice.APPROVE])
    review = warden.review([WITH_LATE], recorder.hooks(), writes=True)
    _trust(warden, release(("other-1.0.tar.gz", digest("o")), version="3.0"))  # another version only
    written: list[bool] = []
    warden.commit(review, recorder.hooks(), lambda: written.append(True))
    assert written and warden.trusted().get(ORIGINAL.name, "1.0") is not None
    assert Ledger() != warden.trusted()


def test_a_ledger_outside_the_project_is_named_when_the_plugin_writes_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    warden = _project(project, ledger="../shared/pinwarden-ledger.toml")
    (tmp_path / "shared").mkdir()
    recorder = Recorder([Choice.APPROVE])
    _trust(warden, ORIGINAL)
    review = warden.review([CHANGED], recorder.hooks(), writes=True)
    warden.commit(review, recorder.hooks(), lambda: None)
    assert any("is outside the project" in line and "shared" in line for line in recorder.said), recorder.said
