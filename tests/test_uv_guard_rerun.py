"""`pinwarden uv lock --upgrade` as the benchmark (benchmarks/run.py uv-guard) and the demo (demo/run.py)
run it: a rerun with nothing new does no more than check uv's lock against the ledger; a late
build-tagged wheel is refused with each of its signs said once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.compiled_project import ALPHA, TAGGED_WHEEL
from tests.support.uv_project import LATE, ok, uv_project

pytestmark = pytest.mark.e2e

# The guard in one process, then the modules it loaded: the review flow's stay out.
RUN = (
    "import sys; from pinwarden.cli import main; code = main(['uv', 'lock', '--upgrade']); "
    "print(' '.join(sorted(sys.modules))); sys.exit(code)"
)
REVIEW_FLOW = ("pinwarden.shared.decide", "pinwarden.shared.signs", "filelock")


def test_a_rerun_with_nothing_new_decides_records_and_writes_nothing(tmp_path: Path) -> None:
    with uv_project(tmp_path) as project:
        ok(project.uv("lock"))
        before = project.state()
        mtime = project.lock.stat().st_mtime_ns
        done = subprocess.run(
            [sys.executable, "-c", RUN],
            cwd=project.path,
            env=project.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "pinwarden: 3 packages, all trusted; uv.lock is unchanged" in done.stderr
        loaded = set(done.stdout.split())
        assert not loaded & set(REVIEW_FLOW), sorted(loaded & set(REVIEW_FLOW))
        assert project.state() == before
        assert project.lock.stat().st_mtime_ns == mtime
        assert project.staging_dirs() == []


def test_a_late_wheel_is_refused_with_each_sign_said_once(tmp_path: Path) -> None:
    """uv.lock's upload-time shows the late upload offline and the index's page shows it again: the
    report says it once."""
    with uv_project(tmp_path) as project:
        ok(project.uv("lock"))
        project.index.add(ALPHA, "1.0", *TAGGED_WHEEL, upload_time=LATE)
        err = ok(project.uv("lock", "--upgrade"), 1)
        lines = [line.strip() for line in err.splitlines()]
        late = [line for line in lines if line.startswith(f"warning     {TAGGED_WHEEL[0]}: late upload:")]
        tagged = [line for line in lines if line.startswith(f"warning     {TAGGED_WHEEL[0]}: build tag 1")]
        assert len(late) == 1, err
        assert len(tagged) == 1, err
