"""Guarded write paths driven step by step, for crash-consistency and concurrency tests.

Step i trusts one more file of `crashpkg 1.0` through the real commit path of one flow, and leaves
the lock and the ledger in state i. The same steps run in-process on a scratch directory give the
test the exact bytes of every state, so a file left by a killed process can be named old or new.

    python -m tests.support.crash_flows FLOW DIR            # loops from step 1 until killed
    python -m tests.support.crash_flows FLOW DIR LAST NAME LEDGER  # steps 1..LAST of NAME, then exits

The child prints "go" once its imports are done, so a kill lands in the write path, not in start-up.
"""

from __future__ import annotations

import hashlib
import io
import sys
from collections.abc import Callable
from pathlib import Path

from pinwarden.shared.ledger import Ledger, dumps
from pinwarden.shared.locks import parse_poetry_lock, parse_requirements
from pinwarden.shared.model import TrustHow
from pinwarden.shared.trust import record

AT = "2026-11-25T00:00:00Z"
EPOCH = "1795564800"  # SOURCE_DATE_EPOCH for every process: the same step gives the same bytes
LEDGER = "pinwarden-ledger.toml"
PADDING = 120  # other locked projects: a ledger and a lock of realistic size take a while to write
LOCKS = {"poetry": "poetry.lock", "piptools": "requirements.txt"}


def sha256(tag: str) -> str:
    return "sha256:" + hashlib.sha256(tag.encode()).hexdigest()


def _files(name: str, count: int) -> list[tuple[str, str]]:
    dist = name.replace("-", "_")
    return [(f"{dist}-1.0-{i}-py3-none-any.whl", sha256(f"{name}/{i}")) for i in range(count)]


def _projects(step: int, name: str = "crashpkg") -> list[tuple[str, list[tuple[str, str]]]]:
    padding = [(f"pad{i:03d}", _files(f"pad{i:03d}", 3)) for i in range(PADDING)]
    return [(name, _files(name, step + 1)), *padding]


def poetry_lock(step: int, name: str = "crashpkg") -> str:
    parts = []
    for project, files in _projects(step, name):
        listed = "".join(f'    {{file = "{f}", hash = "{h}"}},\n' for f, h in files)
        parts.append(
            f'[[package]]\nname = "{project}"\nversion = "1.0"\ndescription = ""\noptional = false\n'
            f'python-versions = "*"\ngroups = ["main"]\nfiles = [\n{listed}]\n\n'
        )
    parts.append('[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "0"\n')
    return "".join(parts)


def requirements(step: int, name: str = "crashpkg") -> str:
    lines = []
    for project, files in _projects(step, name):
        hashes = "".join(f" \\\n    --hash={h}" for _, h in files)
        lines.append(f"{project}==1.0{hashes}\n")
    return "".join(lines)


TEXTS: dict[str, Callable[[int], str]] = {"poetry": poetry_lock, "piptools": requirements}


def initial_ledger(flow: str) -> str:
    """State 0: the lock of step 0 adopted by `init`."""
    text = TEXTS[flow](0)
    parse = parse_poetry_lock if flow == "poetry" else parse_requirements
    releases = parse(text, LOCKS[flow]).releases
    return dumps(record(Ledger(), releases, how=TrustHow.INIT, at=AT))


def prepare(flow: str, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / LOCKS[flow]).write_text(TEXTS[flow](0), encoding="utf-8")
    (directory / LEDGER).write_text(initial_ledger(flow), encoding="utf-8")


def poetry_step(directory: Path, step: int, name: str = "crashpkg", ledger: Path | None = None) -> None:
    """What GuardedLocker.set_lock_data does once the review is settled: Warden.commit."""
    from pinwarden.poetry_plugin.flow import Hooks, Warden
    from pinwarden.shared.decide import Choice
    from pinwarden.shared.store import atomic_write

    lock = directory / LOCKS["poetry"]
    text = poetry_lock(step, name)
    warden = Warden(directory, lock, ledger=ledger)
    hooks = Hooks(ask=lambda question: Choice.APPROVE, say=lambda message: None)
    review = warden.review(parse_poetry_lock(text, "poetry.lock").releases, hooks, writes=True)
    warden.commit(review, hooks, lambda: atomic_write(lock, text))


def piptools_step(directory: Path, step: int, name: str = "crashpkg", ledger: Path | None = None) -> None:
    """What `pinwarden pip-compile` does once pip-compile has finished: Session._commit."""
    from pinwarden.piptools_ext.protocol import RunReport
    from pinwarden.piptools_ext.session import Examination, Session
    from pinwarden.shared.compare import compare
    from pinwarden.shared.decide import Choice, decide, plan

    output = directory / LOCKS["piptools"]
    report = RunReport(stage="done", output=str(output), ledger=str(ledger or directory / LEDGER))
    session = Session(report, command="pinwarden pip-compile", err=io.StringIO())
    text = requirements(step, name)
    snapshot = session.store.load()
    releases = parse_requirements(text, str(output)).releases
    findings = compare(snapshot, releases)
    exam = Examination(text, snapshot, releases, findings, {})
    the_plan = plan(findings)
    decisions = decide(the_plan, lambda question: Choice.APPROVE)
    assert session._commit(exam, the_plan, decisions, io.StringIO()) == 0


STEPS: dict[str, Callable[..., None]] = {"poetry": poetry_step, "piptools": piptools_step}


def main(argv: list[str]) -> None:
    flow, directory = argv[0], Path(argv[1])
    run = STEPS[flow]
    if len(argv) > 2:
        last, name, ledger = int(argv[2]), argv[3], Path(argv[4])
        for step in range(1, last + 1):
            run(directory, step, name, ledger)
        return
    step = 1
    run(directory, step)  # warm: every import done before the parent starts its clock
    print("go", flush=True)
    while True:
        step += 1
        run(directory, step)


if __name__ == "__main__":
    main(sys.argv[1:])
