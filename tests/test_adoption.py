"""Adoption with history: `init` dates each version's trust from the commit that first locked it
(or the lock's modification time without git, or `--trusted-since`), so the first audit reports the
files the index says were uploaded after that, and records the older ones as seen.

End to end: a real git repository (commits with set author and committer dates) and an index on
127.0.0.1 serving PEP 700 upload times.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, build_sdist, build_wheel

from pinwarden.cli import main
from pinwarden.shared.ledger import loads

ALPHA, BETA = "pwdemo-alpha", "pwdemo-beta"
T0 = "2024-05-01T12:00:00Z"  # the releases
ALPHA_LOCKED = "2024-06-01T00:00:00Z"  # the commit that first locked alpha 1.0
RENAMED = "2024-09-01T00:00:00Z"  # the lock renamed
BETA_LOCKED = "2025-06-01T00:00:00Z"  # the commit that first locked beta 2.0
EPOCH = "1780000000"  # 2026-05-28T20:26:40Z: `init` runs then

A_WHEEL = build_wheel(ALPHA, "1.0", marker="a-wheel")
A_SDIST = build_sdist(ALPHA, "1.0", marker="a-sdist")
B_WHEEL = build_wheel(BETA, "2.0", marker="b-wheel")
# Left out of the lock: one there when alpha was locked, one added after (the wrapt 1.14.1 shape).
A_OLD = build_wheel(ALPHA, "1.0", python_tag="cp27", abi="cp27mu", platform="manylinux1_x86_64")
A_LATE = build_wheel(ALPHA, "1.0", python_tag="cp313", abi="cp313", platform="win_amd64")
A_LATE_AT = "2025-03-01T00:00:00Z"  # after alpha's locking commit, long before `init`
# Uploaded after alpha was locked but before beta was: beta's own date decides.
B_EXTRA = build_wheel(BETA, "2.0", python_tag="cp313", abi="cp313", platform="win_amd64")
B_EXTRA_AT = "2025-01-01T00:00:00Z"

ALPHA_PIN = (ALPHA, "1.0", [A_WHEEL[1], A_SDIST[1]])
BETA_PIN = (BETA, "2.0", [B_WHEEL[1]])


def sha256(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def requirements(url: str, *pins: tuple[str, str, list[bytes]]) -> str:
    lines = [f"--index-url {url}", ""]
    for name, version, datas in pins:
        lines.append(f"{name}=={version} " + " ".join(f"--hash={sha256(d)}" for d in datas))
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    for key in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "NETRC"):
        monkeypatch.delenv(key, raising=False)
    for key in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    # git sees no configuration of this machine, and no repository above the test's directory.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    return tmp_path


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    index.add(ALPHA, "1.0", *A_WHEEL, upload_time=T0)
    index.add(ALPHA, "1.0", *A_SDIST, upload_time=T0)
    index.add(ALPHA, "1.0", *A_OLD, upload_time=T0)
    index.add(ALPHA, "1.0", *A_LATE, upload_time=A_LATE_AT)
    index.add(BETA, "2.0", *B_WHEEL, upload_time=T0)
    index.add(BETA, "2.0", *B_EXTRA, upload_time=B_EXTRA_AT)
    with index.serve():
        yield index


def git(repo: Path, *args: str, when: str | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
    if when is not None:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def commit(repo: Path, when: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"lock at {when}", when=when)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def first_audit(repo: Path) -> tuple[set[tuple[str, str, str | None]], dict[str, object], str]:
    code, out, err = run("audit", "--format", "json")
    report = json.loads(out)
    assert code in (0, 1), err
    found = {(f["kind"], f["project"], f["filename"]) for f in report["findings"]}
    return found, report, (repo / "pinwarden-baseline.toml").read_text()


def since_of(repo: Path) -> dict[str, str | None]:
    ledger = loads((repo / "pinwarden-ledger.toml").read_text())
    return {name: release.history[-1].since for (name, _), release in ledger.releases.items()}


@pytest.fixture
def history(index: PackageIndex, isolated: Path) -> Path:
    """Alpha locked in 2024-06, the lock renamed in 2024-09, beta added in 2025-06."""
    git(isolated, "init", "-q")
    (isolated / "requirements-prod.txt").write_text(requirements(index.url, ALPHA_PIN))
    commit(isolated, ALPHA_LOCKED)
    git(isolated, "mv", "requirements-prod.txt", "requirements.txt")
    commit(isolated, RENAMED)
    (isolated / "requirements.txt").write_text(requirements(index.url, ALPHA_PIN, BETA_PIN))
    commit(isolated, BETA_LOCKED)
    return isolated


def test_trust_dates_from_the_commit_that_first_locked_each_version(history: Path) -> None:
    code, out, err = run("init")
    assert (code, err) == (0, ""), out
    assert "2024-06-01 to 2025-06-01" in out and "git history (3 commits)" in out
    assert since_of(history) == {ALPHA: ALPHA_LOCKED, BETA: BETA_LOCKED}
    found, report, baseline = first_audit(history)
    # Uploaded after alpha entered the lock: reported with both dates; everything older recorded.
    assert found == {("new-file", ALPHA, A_LATE[0]), ("late-upload", ALPHA, A_LATE[0])}
    new = next(f for f in report["findings"] if f["kind"] == "new-file")  # type: ignore[attr-defined]
    assert new["evidence"]["upload_time"] == A_LATE_AT
    assert new["evidence"]["trusted_from"] == ALPHA_LOCKED
    assert "after the lock first held this version" in new["detail"]
    assert A_OLD[0] in baseline and B_EXTRA[0] in baseline and A_LATE[0] not in baseline
    # It stays reported until someone acts on it.
    assert first_audit(history)[0] == found


def test_a_version_only_the_uncommitted_lock_holds_dates_from_now(
    index: PackageIndex, isolated: Path
) -> None:
    git(isolated, "init", "-q")
    (isolated / "requirements.txt").write_text(requirements(index.url, ALPHA_PIN))
    commit(isolated, ALPHA_LOCKED)
    (isolated / "requirements.txt").write_text(requirements(index.url, ALPHA_PIN, BETA_PIN))  # dirty
    code, out, _ = run("init")
    assert code == 0 and "1 only in the uncommitted lock, dated now" in out
    assert since_of(isolated) == {ALPHA: ALPHA_LOCKED, BETA: None}
    found, _, baseline = first_audit(isolated)
    assert ("new-file", ALPHA, A_LATE[0]) in found and B_EXTRA[0] in baseline


def test_a_version_dropped_and_locked_again_dates_from_its_first_locking(
    index: PackageIndex, history: Path
) -> None:
    (history / "requirements.txt").write_text(requirements(index.url, BETA_PIN))
    commit(history, "2025-07-01T00:00:00Z")
    (history / "requirements.txt").write_text(requirements(index.url, ALPHA_PIN, BETA_PIN))
    commit(history, "2025-08-01T00:00:00Z")
    assert run("init")[0] == 0
    assert since_of(history) == {ALPHA: ALPHA_LOCKED, BETA: BETA_LOCKED}


def test_an_untracked_lock_dates_from_now(index: PackageIndex, isolated: Path) -> None:
    git(isolated, "init", "-q")
    (isolated / "requirements.txt").write_text(requirements(index.url, ALPHA_PIN))
    code, out, _ = run("init")
    assert code == 0 and "dated" not in out
    assert since_of(isolated) == {ALPHA: None}
    found, _, baseline = first_audit(isolated)
    assert found == set() and A_LATE[0] in baseline  # the old behaviour: nothing to date from


def test_without_git_the_lock_file_modification_time(index: PackageIndex, isolated: Path) -> None:
    lock = isolated / "requirements.txt"
    lock.write_text(requirements(index.url, ALPHA_PIN))
    moment = 1717200000  # 2024-06-01T00:00:00Z
    os.utime(lock, (moment, moment))
    code, out, _ = run("init")
    assert code == 0 and "modification time 2024-06-01T00:00:00Z" in out
    assert since_of(isolated) == {ALPHA: ALPHA_LOCKED}
    found, _, baseline = first_audit(isolated)
    assert ("new-file", ALPHA, A_LATE[0]) in found and A_OLD[0] in baseline


@pytest.mark.parametrize(
    ("given", "stored"),
    [("2025-01-01", "2025-01-01T00:00:00Z"), ("2025-01-01T02:00:00+02:00", "2025-01-01T00:00:00Z")],
)
def test_trusted_since_overrides_the_history(history: Path, given: str, stored: str) -> None:
    assert run("init", "--trusted-since", given)[0] == 0
    assert since_of(history) == {ALPHA: stored, BETA: stored}
    found, _, baseline = first_audit(history)
    # beta's extra wheel (2025-01-01) is not after the date given; alpha's late one (2025-03) is.
    assert ("new-file", ALPHA, A_LATE[0]) in found and B_EXTRA[0] in baseline


@pytest.mark.parametrize(
    "bad", ["2025-13-01", "yesterday", "2025-01-01T00:00:00", "2025-02-30", "", "2999-01-01"]
)
def test_a_bad_trusted_since_is_one_error_line_and_writes_nothing(isolated: Path, bad: str) -> None:
    (isolated / "requirements.txt").write_text(requirements("https://example.invalid/simple/", ALPHA_PIN))
    code, out, err = run("init", "--trusted-since", bad)
    assert code == 2 and out == ""
    assert err.startswith("pinwarden: error:") and err.count("\n") == 1, err
    assert not (isolated / "pinwarden-ledger.toml").exists()


def test_init_never_redates_trust_already_recorded(history: Path, index: PackageIndex) -> None:
    assert run("init", "--trusted-since", "2025-05-01")[0] == 0
    before = (history / "pinwarden-ledger.toml").read_text()
    assert run("init")[0] == 0
    assert (history / "pinwarden-ledger.toml").read_text() == before


# -- the real case: wrapt 1.14.1, whose cp311 wheels came 523 days late ----------------------------


def wrapt_lock(files: list[dict[str, object]]) -> str:
    entries = "".join(
        f'    {{file = "{f["filename"]}", hash = "sha256:{f["hashes"]["sha256"]}"}},\n'  # type: ignore[index]
        for f in files
    )
    return (
        '[[package]]\nname = "wrapt"\nversion = "1.14.1"\ndescription = ""\noptional = false\n'
        f'python-versions = "*"\nfiles = [\n{entries}]\n\n'
        '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
    )


@pytest.fixture
def wrapt(isolated: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """A poetry.lock of wrapt 1.14.1 committed in 2022-06 with the files PyPI served then (a few
    left out on purpose, as requires-python would), and PyPI's page as recorded in 2026."""
    from tests.support.replay import ReplayIndex, files_until, recorded_page

    page = recorded_page("wrapt")
    then = files_until(page, "1.14.1", "2022-06-01T00:00:00Z")
    locked, left_out = then[:-3], [f["filename"] for f in then[-3:]]
    git(isolated, "init", "-q")
    (isolated / "poetry.lock").write_text(wrapt_lock(locked))
    commit(isolated, "2022-06-01T00:00:00Z")
    index = ReplayIndex({"wrapt": page})
    with index.serve():
        yield index.url, [str(f["filename"]) for f in locked], left_out


def test_wrapt_first_audit_reports_the_late_wheels_instead_of_recording_them(
    wrapt: tuple[str, list[str], list[str]], isolated: Path
) -> None:
    url, locked, left_out = wrapt
    assert run("init")[0] == 0  # in 2026 (SOURCE_DATE_EPOCH), long after the cp311 wheels
    code, out, _ = run("audit", "--index-url", url, "--format", "json")
    report = json.loads(out)
    new = sorted(f["filename"] for f in report["findings"] if f["kind"] == "new-file")
    assert code == 1 and len(new) == 10 and all("-cp311-" in name for name in new)
    assert {f["evidence"]["trusted_from"] for f in report["findings"] if f["kind"] == "new-file"} == {
        "2022-06-01T00:00:00Z"
    }
    baseline = (isolated / "pinwarden-baseline.toml").read_text()
    # Only as large as it needs to be: the files left out on purpose, not the trusted ones.
    listed = [line.split('"')[1] for line in baseline.splitlines() if line.startswith("  { file = ")]
    assert sorted(listed) == sorted(left_out)
    assert not any(name in baseline for name in locked + new)
    # An old baseline, with every served file, reads the same and gives the same findings.
    old_lines = "".join(f'  {{ file = "{name}", hashes = [] }},\n' for name in locked)
    (isolated / "pinwarden-baseline.toml").write_text(
        baseline.replace("files = [\n", "files = [\n" + old_lines)
    )
    again = json.loads(run("audit", "--index-url", url, "--format", "json")[1])
    assert [(f["kind"], f["filename"]) for f in again["findings"]] == [
        (f["kind"], f["filename"]) for f in report["findings"]
    ]
