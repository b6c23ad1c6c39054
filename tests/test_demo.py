"""`make demo` runs its whole story (Poetry plugin, check, audit, approval, pip-compile, uv) and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.e2e
def test_the_demo_tells_its_story(tmp_path: Path) -> None:
    from tests.support.index import isolated_env

    done = subprocess.run(
        [sys.executable, str(ROOT / "demo" / "run.py")],
        env={**isolated_env(tmp_path), "PINWARDEN_DEMO_DIR": str(tmp_path / "demo")},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert any(
        line.startswith("poetry pinwarden approve --from-index pwdemo-shout==1 --hash sha256:")
        for line in lines
    )
    assert any(line.startswith("pinwarden approve pwdemo-greeter==1 --from-index ") for line in lines)
    # The uv story: `pinwarden uv lock --upgrade` refuses the late build-tagged wheel with the approve
    # command, which is run; the relock writes it and `pinwarden uv sync` installs from the lock.
    assert any(
        line.startswith("pinwarden approve pwdemo-lantern==1 --from-index ") and " --hash sha256:" in line
        for line in lines
    )
    assert "$ pinwarden uv lock --upgrade" in lines
    assert "$ pinwarden uv sync" in lines
    assert "pinwarden: 2 packages, all trusted; wrote uv.lock" in lines
    assert "demo finished: every step behaved as expected." in done.stdout
