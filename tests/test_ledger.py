"""The ledger file: canonical text, round trips, git merges, concurrent writers, crashes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pinwarden.shared.errors import InputError
from pinwarden.shared.ledger import Ledger, dumps, loads
from pinwarden.shared.model import FileHash, LockedFile, LockedRelease, TrustHow, normalize_name
from pinwarden.shared.trust import record

AT = "2026-11-25T00:00:00Z"


def digest(seed: str) -> FileHash:
    import hashlib

    return FileHash("sha256", hashlib.sha256(seed.encode()).hexdigest())


def release(name: str, version: str, n_files: int = 2) -> LockedRelease:
    dist = name.replace("-", "_")
    files = [
        LockedFile(f"{dist}-{version}-cp3{i}-none-any.whl", digest(f"{name}{version}{i}"))
        for i in range(n_files)
    ]
    files.append(LockedFile(f"{dist}-{version}.tar.gz", digest(f"{name}{version}sdist")))
    return LockedRelease(
        name=normalize_name(name), version=version, files=tuple(files), lockfile="poetry.lock"
    )


def ledger_of(*releases: LockedRelease, how: TrustHow = TrustHow.INIT) -> Ledger:
    return record(Ledger(), releases, how=how, at=AT)


def test_round_trip_is_byte_identical() -> None:
    ledger = ledger_of(
        release("demo", "1.0"), release("demo", "1.10"), release("demo", "1.9"), release("zope.x", "2")
    )
    ledger = record(
        ledger, [release("demo", "1.0", 3)], how=TrustHow.APPROVAL, at=AT, reason='rebuilt "wheels"\n'
    )
    text = dumps(ledger)
    assert loads(text) == ledger
    assert dumps(loads(text)) == text


def test_text_does_not_depend_on_insertion_order() -> None:
    releases = [release(f"p{i}", f"1.{i}") for i in range(20)]
    shuffled = releases[:]
    random.Random(4).shuffle(shuffled)
    assert dumps(ledger_of(*releases)) == dumps(ledger_of(*shuffled))


def test_versions_sorted_numerically_and_one_line_per_file() -> None:
    text = dumps(ledger_of(release("demo", "1.10"), release("demo", "1.9"), release("demo", "1.9.post1")))
    headers = [ln for ln in text.splitlines() if ln.startswith("[projects")]
    assert headers == ['[projects.demo."1.9"]', '[projects.demo."1.9.post1"]', '[projects.demo."1.10"]']
    assert sum(1 for ln in text.splitlines() if ln.strip().startswith("{ file =")) == 9
    assert text.startswith("# pinwarden ledger")


def test_unknown_keys_and_bad_values_are_all_reported() -> None:
    text = dumps(ledger_of(release("demo", "1.0")))
    text = (
        text.replace('how = "init"', 'how = "magic"')
        .replace("sha256:", "sha1:", 1)
        .replace("[projects.demo", 'color = "red"\n[projects.demo')
    )
    with pytest.raises(InputError) as info:
        loads(text, "ledger.toml")
    wheres = [p.where for p in info.value.problems]
    assert "color" in wheres
    assert any(w.endswith(".trusted[0].how") for w in wheres)
    assert any(".files[" in w for w in wheres)


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _branch_merge(
    tmp_path: Path, base: Ledger, left: list[LockedRelease], right: list[LockedRelease]
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "pinwarden-ledger.toml"
    _git(tmp_path, "init", "-q", "-b", "main")
    path.write_text(dumps(base))
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "base")
    _git(tmp_path, "checkout", "-qb", "left")
    path.write_text(dumps(record(base, left, how=TrustHow.FIRST_USE, at=AT)))
    _git(tmp_path, "commit", "-qam", "left")
    _git(tmp_path, "checkout", "-q", "main")
    path.write_text(dumps(record(base, right, how=TrustHow.FIRST_USE, at=AT)))
    _git(tmp_path, "commit", "-qam", "right")
    return _git(tmp_path, "merge", "-q", "--no-edit", "left")


def test_branches_adding_different_projects_merge_cleanly(tmp_path: Path) -> None:
    base = ledger_of(release("alpha", "1.0"), release("mid", "1.0"), release("zulu", "1.0"))
    merged = _branch_merge(tmp_path, base, [release("beta", "2.0")], [release("yankee", "3.0")])
    assert merged.returncode == 0, merged.stdout + merged.stderr
    result = loads((tmp_path / "pinwarden-ledger.toml").read_text())
    assert {n for n, _ in result.releases} == {"alpha", "beta", "mid", "yankee", "zulu"}
    assert dumps(result) == (tmp_path / "pinwarden-ledger.toml").read_text()


def test_upgrading_different_packages_on_two_branches_merges(tmp_path: Path) -> None:
    base = ledger_of(release("alpha", "1.0"), release("mid", "1.0"), release("zulu", "1.0"))
    merged = _branch_merge(tmp_path, base, [release("alpha", "1.1")], [release("zulu", "1.1")])
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert len(loads((tmp_path / "pinwarden-ledger.toml").read_text())) == 5


LOCK_TEMPLATE = """\
[[package]]
name = "{name}"
version = "1.0"
description = ""
optional = false
python-versions = "*"
files = [
    {{file = "{name}-1.0.tar.gz", hash = "sha256:{hex}"}},
]
"""


def test_sixteen_processes_approving_at_once_lose_nothing(tmp_path: Path) -> None:
    names = [f"pkg{i:02d}" for i in range(16)]
    lock = "".join(LOCK_TEMPLATE.format(name=n, hex=digest(n).value) + "\n" for n in names)
    lock += '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
    (tmp_path / "poetry.lock").write_text(lock)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pinwarden", "approve", f"{n}==1.0", "--reason", n],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for n in names
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 16, outputs
    result = loads((tmp_path / "pinwarden-ledger.toml").read_text())
    assert sorted(n for n, _ in result.releases) == names
    check = subprocess.run(
        [sys.executable, "-m", "pinwarden", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


WRITER = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{src!r}, {root!r}]
    from pathlib import Path
    from tests.test_ledger import release
    from pinwarden.shared.ledger import Ledger
    from pinwarden.shared.model import TrustHow
    from pinwarden.shared.store import LedgerStore
    from pinwarden.shared.trust import record
    store = LedgerStore(Path(sys.argv[1]))
    n = 0
    while True:
        with store.locked():
            ledger = store.load()
            n = len(ledger)
            store.save(record(ledger, [release(f"p{{n:04d}}", "1.0", 40)], how=TrustHow.APPROVAL, at="t"))
    """
)


def expected_state(n: int) -> str:
    ledger = Ledger()
    for i in range(n):
        ledger = record(ledger, [release(f"p{i:04d}", "1.0", 40)], how=TrustHow.APPROVAL, at="t")
    return dumps(ledger)


@pytest.mark.parametrize("trial", range(int(os.environ.get("PINWARDEN_CRASH_TRIALS", "12"))))
def test_killed_writer_leaves_old_or_new_ledger(tmp_path: Path, trial: int) -> None:
    path = tmp_path / "pinwarden-ledger.toml"
    script = tmp_path / "writer.py"
    root = Path(__file__).parents[1]
    script.write_text(WRITER.format(src=str(root / "src"), root=str(root)))
    proc = subprocess.Popen([sys.executable, str(script), str(path)], cwd=root)
    # Kill at a random moment after the first complete write, however slow a busy machine starts it.
    deadline = time.monotonic() + 120
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(random.Random(trial).random() * 0.5)
    assert proc.poll() is None, "the writer died on its own"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert path.exists(), "the writer never completed a write; the trial proves nothing"
    text = path.read_text()
    ledger = loads(text)
    assert text == expected_state(len(ledger)), "a torn or mixed ledger"
    print(f"trial {trial}: killed after {len(ledger)} complete writes")
