"""Crash consistency of the guarded write paths: SIGKILL at random points.

After every kill the lock and the ledger are each exactly one known state (byte for byte), the
ledger is never behind the lock (it is saved first), and `pinwarden check` on what is left finds
nothing, or only that the ledger trusts more than the lock holds.

Trials: PINWARDEN_NIGHTLY=1 runs 200 per flow (30 of real `poetry lock`); the default run a few.
Every kill time comes from a seeded generator: a failure names its flow and trial.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import crash_flows
from tests.support.crash_flows import LEDGER, LOCKS
from tests.support.guarded_project import (
    ALPHA,
    OTHER,
    Project,
    Snapshot,
    copy_project,
    make_project,
    poetry_tool,
    publish_base,
)
from tests.support.index import PackageIndex

from pinwarden.cli import main

NIGHTLY = os.environ.get("PINWARDEN_NIGHTLY") == "1"
# CI's nightly share (make nightly-share) bounds the counts with these two variables.
TRIALS = int(os.environ.get("PINWARDEN_CRASH_TRIALS", "200" if NIGHTLY else "4"))
POETRY_TRIALS = int(os.environ.get("PINWARDEN_POETRY_CRASH_TRIALS", "30" if NIGHTLY else "1"))
ROOT = Path(__file__).parents[1]
# The ledger may trust more than the lock (saved first, then the kill): nothing else is acceptable.
ALLOWED_AFTER_KILL = {"missing-file"}


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", crash_flows.EPOCH)


def child_env() -> dict[str, str]:
    return {**os.environ, "SOURCE_DATE_EPOCH": crash_flows.EPOCH, "PYTHONPATH": str(ROOT)}


class States:
    """Every state of one flow, (lock bytes, ledger bytes) per step, computed in-process on demand."""

    def __init__(self, flow: str, scratch: Path) -> None:
        self.flow = flow
        self.scratch = scratch
        crash_flows.prepare(flow, scratch)
        self.states = [self._read()]

    def _read(self) -> tuple[bytes, bytes]:
        return ((self.scratch / LOCKS[self.flow]).read_bytes(), (self.scratch / LEDGER).read_bytes())

    def upto(self, step: int) -> list[tuple[bytes, bytes]]:
        while len(self.states) <= step:
            crash_flows.STEPS[self.flow](self.scratch, len(self.states))
            self.states.append(self._read())
        return self.states

    def step_of_lock(self, lock: bytes, limit: int = 5000) -> int:
        for step in range(limit):
            if self.upto(step)[step][0] == lock:
                return step
        raise AssertionError("the lock is none of the known states: torn or mixed")


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, States]]:
    os.environ["SOURCE_DATE_EPOCH"] = crash_flows.EPOCH  # module scope: monkeypatch is per test
    yield {flow: States(flow, tmp_path_factory.mktemp(f"states-{flow}")) for flow in LOCKS}


def check_findings(directory: Path, lock: str) -> tuple[int, set[str]]:
    """`pinwarden check --format json` on what the kill left (in-process: the same code, faster)."""
    out, err = io.StringIO(), io.StringIO()
    cwd = Path.cwd()
    os.chdir(directory)
    try:
        code = main(["check", "--format", "json", lock], out, err)
    finally:
        os.chdir(cwd)
    assert code in (0, 1), err.getvalue()
    return code, {f["kind"] for f in json.loads(out.getvalue())["findings"]}


def kill_after_go(argv: list[str], cwd: Path, delay: float) -> None:
    proc = subprocess.Popen(argv, cwd=cwd, env=child_env(), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "go", "the child died before its first step"
    time.sleep(delay)
    assert proc.poll() is None, "the child died on its own"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()


@pytest.mark.parametrize("flow", list(LOCKS))
@pytest.mark.parametrize("trial", range(TRIALS))
def test_killed_commit_leaves_known_states(
    flow: str, trial: int, tmp_path: Path, states: dict[str, States]
) -> None:
    """(b) the Poetry plugin's Warden.commit, (c) the pip-compile wrapper's Session._commit, in a loop."""
    directory = tmp_path / "project"
    crash_flows.prepare(flow, directory)
    delay = random.Random(f"{flow}-{trial}").uniform(0.0, 0.6)
    argv = [sys.executable, "-m", "tests.support.crash_flows", flow, str(directory)]
    kill_after_go(argv, ROOT, delay)
    lock, ledger = (directory / LOCKS[flow]).read_bytes(), (directory / LEDGER).read_bytes()
    step = states[flow].step_of_lock(lock)
    known = states[flow].upto(step + 1)
    assert ledger in (known[step][1], known[step + 1][1]), f"ledger torn or behind lock state {step}"
    code, kinds = check_findings(directory, LOCKS[flow])
    assert code == 0 or kinds <= ALLOWED_AFTER_KILL, kinds
    print(f"{flow} trial {trial}: killed at lock state {step}, ledger {'ahead' if code else 'in step'}")


# ---------------------------------------------------------------------------------------------
# (a) `pinwarden approve`, a real CLI process killed at a random point of its whole run


@pytest.fixture(scope="module")
def approved(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, float]:
    """The ledger before and after one uncontended approve, and how long that approve took."""
    directory = tmp_path_factory.mktemp("approve-calibration")
    before = _approve_project(directory)
    started = time.perf_counter()
    done = subprocess.run(_approve_argv(), cwd=directory, env=child_env(), capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    return before, (directory / LEDGER).read_bytes(), elapsed


def _approve_project(directory: Path) -> bytes:
    """State 0 ledger, and a lock edited to hold step 1 (a reviewed change waiting for approval)."""
    crash_flows.prepare("poetry", directory)
    (directory / "poetry.lock").write_text(crash_flows.poetry_lock(1), encoding="utf-8")
    return (directory / LEDGER).read_bytes()


def _approve_argv() -> list[str]:
    return [sys.executable, "-m", "pinwarden", "approve", "crashpkg==1.0", "--reason", "crash test"]


@pytest.mark.parametrize("trial", range(TRIALS))
def test_killed_approve_leaves_old_or_new_ledger(
    trial: int, tmp_path: Path, approved: tuple[bytes, bytes, float]
) -> None:
    before, after, elapsed = approved
    _approve_project(tmp_path)
    lock = (tmp_path / "poetry.lock").read_bytes()
    # Late in the run, where the ledger is written; the first trials in start-up and parsing.
    delay = random.Random(f"approve-{trial}").uniform(0.3, 1.05) * elapsed
    proc = subprocess.Popen(_approve_argv(), cwd=tmp_path, env=child_env(), stdout=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ledger = (tmp_path / LEDGER).read_bytes()
    assert ledger in (before, after), "a torn ledger"
    assert (tmp_path / "poetry.lock").read_bytes() == lock, "approve never writes the lock"
    code, kinds = check_findings(tmp_path, "poetry.lock")
    assert code == (0 if ledger == after else 1), kinds
    print(f"approve trial {trial}: {'new' if ledger == after else 'old'} ledger after {delay:.3f}s")


# ---------------------------------------------------------------------------------------------
# (b) real `poetry lock` with the plugin, killed while it trusts a new dependency on first use


@pytest.fixture(scope="module")
def poetry_states(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Project, Snapshot, Snapshot, float]]:
    """A project locking alpha (ledger adopted), then asked to add other: the states before and after."""
    index = PackageIndex()
    publish_base(index)
    with index.serve():
        template = make_project(tmp_path_factory.mktemp("poetry-crash"), index.url, [ALPHA])
        template.env["SOURCE_DATE_EPOCH"] = crash_flows.EPOCH
        template.ok("lock", "-n")
        pyproject = template.path / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace(f'["{ALPHA}"]', f'["{ALPHA}", "{OTHER}"]'))
        before = template.snapshot()
        calibration = copy_project(template, tmp_path_factory.mktemp("poetry-calibration"))
        started = time.perf_counter()
        calibration.ok("lock", "-n")
        elapsed = time.perf_counter() - started
        after = calibration.snapshot()
        assert after.lock != before.lock and after.ledger != before.ledger
        yield template, before, after, elapsed


@pytest.mark.e2e
@pytest.mark.parametrize("trial", range(POETRY_TRIALS))
def test_killed_poetry_lock_leaves_known_states(
    trial: int, tmp_path: Path, poetry_states: tuple[Project, Snapshot, Snapshot, float]
) -> None:
    template, before, after, elapsed = poetry_states
    project = copy_project(template, tmp_path)
    env = {**project.env, "POETRY_CACHE_DIR": str(tmp_path / "cache")}
    delay = random.Random(f"poetry-{trial}").uniform(0.3, 1.0) * elapsed
    argv = [poetry_tool(), "lock", "-n"]
    proc = subprocess.Popen(
        argv,
        cwd=project.path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lock, ledger = project.lock.read_bytes(), project.ledger.read_bytes()
    assert lock in (before.lock, after.lock), "a torn poetry.lock"
    assert ledger in (before.ledger, after.ledger), "a torn ledger"
    assert not (lock == after.lock and ledger == before.ledger), "the lock was written before the ledger"
    if lock == after.lock:
        assert check_findings(project.path, "poetry.lock")[0] == 0
    state = "new" if lock == after.lock else ("ledger only" if ledger == after.ledger else "old")
    print(f"poetry lock trial {trial}: {state} after {delay:.2f}s of {elapsed:.2f}s")
