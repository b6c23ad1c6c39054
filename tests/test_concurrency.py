"""16 processes at once on one ledger: approvals, checks, and the plugin's and the wrapper's commits.

Nothing is lost (every approval and every commit is in the final ledger), nothing is corrupted
(the final ledger is canonical), and no check ever sees a torn ledger (each exits 0 or 1, never 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import crash_flows
from tests.support.crash_flows import LEDGER

from pinwarden.shared.ledger import dumps, loads

ROOT = Path(__file__).parents[1]
APPROVERS = 10
CHECKERS = 4
CHECKS_EACH = 12
COMMIT_STEPS = 4
EXTRA = [f"conc{i:02d}" for i in range(APPROVERS)]

# A checker: `pinwarden check` again and again, as CI and pre-commit hooks would run it meanwhile.
CHECKER = f"""
import io, sys
from pinwarden.cli import main
codes = []
for _ in range({CHECKS_EACH}):
    err = io.StringIO()
    codes.append(main(["check", "poetry.lock"], io.StringIO(), err))
    if codes[-1] not in (0, 1):
        sys.exit("check failed: " + err.getvalue())
print(codes)
"""


def main_lock() -> str:
    """The shared project's lock: crashpkg and padding (trusted), and one version per approver (not yet)."""
    base = crash_flows.poetry_lock(0)
    packages, _, metadata = base.rpartition("[metadata]")
    for name in EXTRA:
        packages += (
            f'[[package]]\nname = "{name}"\nversion = "1.0"\ndescription = ""\noptional = false\n'
            f'python-versions = "*"\ngroups = ["main"]\nfiles = [\n'
            f'    {{file = "{name}-1.0.tar.gz", hash = "{crash_flows.sha256(name)}"}},\n]\n\n'
        )
    return packages + "[metadata]" + metadata


def test_sixteen_processes_approve_check_and_commit_at_once(tmp_path: Path) -> None:
    crash_flows.prepare("poetry", tmp_path)
    (tmp_path / "poetry.lock").write_text(main_lock(), encoding="utf-8")
    ledger = tmp_path / LEDGER
    for flow, lock in crash_flows.LOCKS.items():  # each commit flow: its own lock, the shared ledger
        (tmp_path / flow).mkdir()
        (tmp_path / flow / lock).write_text(crash_flows.TEXTS[flow](0).replace("crashpkg", flow))
    env = {**os.environ, "SOURCE_DATE_EPOCH": crash_flows.EPOCH, "PYTHONPATH": str(ROOT)}

    def start(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    py = sys.executable
    procs = [start([py, "-m", "pinwarden", "approve", f"{n}==1.0", "--reason", n], tmp_path) for n in EXTRA]
    procs += [start([py, "-c", CHECKER], tmp_path) for _ in range(CHECKERS)]
    procs += [
        start(
            [
                py,
                "-m",
                "tests.support.crash_flows",
                flow,
                str(tmp_path / flow),
                str(COMMIT_STEPS),
                flow,
                str(ledger),
            ],
            ROOT,
        )
        for flow in crash_flows.LOCKS
    ]
    assert len(procs) == 16
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 16, outputs

    text = ledger.read_text()
    final = loads(text)
    assert dumps(final) == text, "the ledger is not canonical: corrupted"
    for name in EXTRA:
        trusted = final.get(name, "1.0")  # type: ignore[arg-type]
        assert trusted is not None and trusted.history[-1].reason == name, f"approval of {name} lost"
    for flow in crash_flows.LOCKS:
        trusted = final.get(flow, "1.0")  # type: ignore[arg-type]
        assert trusted is not None and len(trusted.files) == COMMIT_STEPS + 1, f"a {flow} commit lost"
    check = subprocess.run(
        [py, "-m", "pinwarden", "check"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
