"""`pinwarden accept-first-use`: a dependency bot's pull request, end to end.

A local git repository: on `main`, a Poetry project locked by real Poetry and a requirements file
written by real pip-compile against an index on 127.0.0.1, with the ledger `pinwarden init` wrote;
on `bot`, the bump a bot makes (pwbot-alpha 1.0 -> 1.1 in both locks, relocked with the same tools,
which know nothing of pinwarden). The repository is built once per module and copied per test; the
index's contents are reset before each test. Every refusal must leave the ledger byte for byte and
the branch's commits as they were.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.support.guarded_project import poetry_tool
from tests.support.index import PackageIndex, build_sdist, build_wheel, isolated_env, poetry_project

from pinwarden.cli import main

ALPHA, BETA = "pwbot-alpha", "pwbot-beta"  # cannot exist on PyPI: a leak fails loudly
A10_WHEEL, A10_SDIST = build_wheel(ALPHA, "1.0"), build_sdist(ALPHA, "1.0")
A11_WHEEL, A11_SDIST = build_wheel(ALPHA, "1.1"), build_sdist(ALPHA, "1.1")
B20_WHEEL = build_wheel(BETA, "2.0")
LEDGER = "pinwarden-ledger.toml"
DAY1, DAY2 = "2025-01-10T00:00:00Z", "2025-03-01T00:00:00Z"


def publish(index: PackageIndex) -> None:
    """The index as the bot saw it: alpha 1.0 and 1.1 (wheel and sdist, uploaded together), beta 2.0."""
    for name in (ALPHA, BETA):
        try:
            for filename in index.files(name):
                index.remove(name, filename)
        except KeyError:
            pass
    for name, version, (filename, data), when in (
        (ALPHA, "1.0", A10_WHEEL, DAY1),
        (ALPHA, "1.0", A10_SDIST, DAY1),
        (ALPHA, "1.1", A11_WHEEL, DAY2),
        (ALPHA, "1.1", A11_SDIST, DAY2),
        (BETA, "2.0", B20_WHEEL, DAY1),
    ):
        index.add(name, version, filename, data, upload_time=when)


def git(path: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


@dataclass
class Repo:
    path: Path
    env: dict[str, str]
    index: PackageIndex

    @property
    def ledger(self) -> Path:
        return self.path / LEDGER

    def lock(self, pins: str) -> None:
        """What the bot does: edit the pins, relock with Poetry and pip-compile (no pinwarden)."""
        poetry_project(self.path, self.index.url, pins.split())
        (self.path / "requirements.in").write_text(pins.replace(" ", "\n") + "\n")
        for argv in (
            [poetry_tool(), "--no-plugins", "lock"],
            [
                sys.executable,
                "-m",
                "piptools",
                "compile",
                "--quiet",
                "--generate-hashes",
                "--no-strip-extras",
                "-i",
                self.index.url,
                "-o",
                "requirements.txt",
                "requirements.in",
            ],
        ):
            done = subprocess.run(
                argv, cwd=self.path, env=self.env, capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, done.stdout + done.stderr

    def commit(self, message: str) -> None:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", message)

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD")

    def run(self, *args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        cwd = Path.cwd()
        os.chdir(self.path)
        try:
            code = main(list(args), out, err)
        finally:
            os.chdir(cwd)
        return code, out.getvalue(), err.getvalue()

    def accept(self, *extra: str) -> tuple[int, str, str]:
        return self.run("accept-first-use", "--base", "main", *extra)


@pytest.fixture(scope="module")
def served() -> Iterator[PackageIndex]:
    index = PackageIndex()
    publish(index)
    with index.serve():
        yield index


@pytest.fixture(scope="module")
def template(served: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Repo:
    root = tmp_path_factory.mktemp("bot")
    repo = Repo(root / "repo", isolated_env(root / "env"), served)
    repo.path.mkdir()
    repo.lock(f"{ALPHA}==1.0 {BETA}==2.0")
    assert repo.run("init")[0] == 0
    (repo.path / ".gitignore").write_text(".pinwarden-*.lock\n")
    git(repo.path, "init", "-q", "-b", "main")
    for key, value in (("user.name", "pinwarden tests"), ("user.email", "tests@example.invalid")):
        git(repo.path, "config", key, value)
    repo.commit("base: locks and ledger")
    git(repo.path, "checkout", "-q", "-b", "bot")
    repo.lock(f"{ALPHA}==1.1 {BETA}==2.0")
    repo.commit(f"Bump {ALPHA} from 1.0 to 1.1")
    return repo


@pytest.fixture
def repo(template: Repo, tmp_path: Path) -> Repo:
    publish(template.index)
    path = tmp_path / "repo"
    shutil.copytree(template.path, path, symlinks=True)
    return Repo(path, template.env, template.index)


def refused(repo: Repo, *extra: str, code: int = 1) -> str:
    """Run the command, expect a refusal: nothing written, nothing committed. Its output."""
    ledger, head = repo.ledger.read_bytes(), repo.head()
    status = git(repo.path, "status", "--porcelain")
    done, out, err = repo.accept("--commit", *extra)
    assert done == code, out + err
    assert repo.ledger.read_bytes() == ledger
    assert repo.head() == head and git(repo.path, "status", "--porcelain") == status
    if code == 2:
        assert err.startswith("pinwarden: error: ") and err.count("\n") == 1, err
    return out + err


# ---------------------------------------------------------------------------------------------
# The path through


def test_clean_bump_is_recorded_committed_and_check_passes(repo: Repo) -> None:
    assert repo.run("check")[0] == 1  # the bot's pull request, as it is today: new-version
    head = repo.head()
    done = subprocess.run(
        [sys.executable, "-m", "pinwarden", "accept-first-use", "--base", "main", "--commit"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"first use recorded for 1 version(s): {ALPHA}==1.1" in done.stdout
    assert git(repo.path, "rev-parse", "HEAD~1") == head
    assert git(repo.path, "diff", "--name-only", "HEAD~1", "HEAD") == LEDGER
    assert git(repo.path, "log", "-1", "--format=%s") == f"pinwarden: trust first use of {ALPHA} 1.1"
    assert git(repo.path, "status", "--porcelain") == ""
    ledger = repo.ledger.read_text()
    assert 'how = "first-use"' in ledger and "dependency bot pull request" in ledger
    code, out, _ = repo.run("check")
    assert code == 0, out
    assert repo.run("diff", "main")[0] == 0  # only additions
    # Run again: the pull request now edits the ledger (its own commit): never a second pass.
    assert "edits the ledger" in refused(repo)


def test_without_commit_the_ledger_is_only_written(repo: Repo) -> None:
    head = repo.head()
    assert repo.accept()[0] == 0
    assert repo.head() == head
    assert git(repo.path, "status", "--porcelain").split() == ["M", LEDGER]
    assert repo.run("check")[0] == 0


def test_every_locked_hash_is_downloaded_and_hashed(repo: Repo) -> None:
    repo.index.requests.clear()
    assert repo.accept()[0] == 0
    files = sorted(p for p in repo.index.requests if p.startswith("/files/"))
    # alpha 1.1's wheel and sdist, once for poetry.lock (by name) and once for requirements.txt.
    assert sorted(set(files)) == sorted(f"/files/{ALPHA}/{name}" for name in (A11_SDIST[0], A11_WHEEL[0]))


# ---------------------------------------------------------------------------------------------
# Refusals: the pull request touches trust


def test_a_pull_request_that_edits_the_ledger_is_refused(repo: Repo) -> None:
    text = repo.ledger.read_text()
    repo.ledger.write_text(text.replace('how = "init"', 'how = "approval"', 1))
    repo.commit("also tweak the ledger")
    assert "edits the ledger" in refused(repo)


def test_an_uncommitted_ledger_edit_is_refused(repo: Repo) -> None:
    repo.ledger.write_text(repo.ledger.read_text() + "\n")
    assert "edits the ledger" in refused(repo)


@pytest.mark.parametrize(
    "setting",
    ["late-upload-days = 36500", 'exclude = ["requirements.txt"]', 'ledger = "other-ledger.toml"'],
)
def test_a_pull_request_that_edits_tool_pinwarden_is_refused(repo: Repo, setting: str) -> None:
    if "other-ledger" in setting:
        shutil.copy(repo.ledger, repo.path / "other-ledger.toml")
    with (repo.path / "pyproject.toml").open("a") as handle:
        handle.write(f"\n[tool.pinwarden]\n{setting}\n")
    repo.commit("settings")
    assert "[tool.pinwarden] differs from" in refused(repo)


def test_a_stricter_setting_on_the_base_branch_binds_the_pull_request(repo: Repo) -> None:
    git(repo.path, "checkout", "-q", "main")
    with (repo.path / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.pinwarden]\nfirst-use = "ask"\n')
    repo.commit("new versions need a person")
    git(repo.path, "checkout", "-q", "bot")
    assert "[tool.pinwarden] differs from main" in refused(repo)


def test_a_changed_trusted_file_is_refused(repo: Repo) -> None:
    requirements = repo.path / "requirements.txt"
    text = requirements.read_text()
    beta = re.search(rf"{BETA}==2.0 \\\n\s+--hash=sha256:([0-9a-f]{{64}})", text)
    assert beta is not None
    requirements.write_text(text.replace(beta[1], "0" * 64))
    repo.commit("bump, and beta's hash")
    assert f"trusted: {BETA} 2: new-file" in refused(repo)


def test_a_new_index_in_the_pull_request_is_refused_before_it_is_asked(repo: Repo) -> None:
    other = PackageIndex()
    publish(other)
    with other.serve() as url:
        requirements = repo.path / "requirements.txt"
        requirements.write_text(requirements.read_text().replace(repo.index.url, url))
        repo.commit("another index")
        out = refused(repo)
        assert f"index: {ALPHA} 1.1: {url}: an index requirements.txt did not name" in out
        assert other.requests == []


# ---------------------------------------------------------------------------------------------
# Refusals: the index shows a warning sign, or other bytes


def _retime(index: PackageIndex, filename: str, when: str) -> None:
    data = index.files(ALPHA)[filename]
    index.remove(ALPHA, filename)
    index.add(ALPHA, data.version, filename, data.data, upload_time=when)


SIGNS = {
    "late-upload": (lambda i: _retime(i, A11_SDIST[0], "2025-06-01T00:00:00Z"), "late-upload"),
    "yanked": (lambda i: i.yank(ALPHA, A11_WHEEL[0], "broken"), "yanked"),
    # shape-change asks only for a release that had binary wheels (issue 11's calibration): this
    # project's are pure-Python; tests/test_bot_rules.py refuses it like every other sign.
    "late-wheel-for-covered-tags": (
        lambda i: i.add(
            ALPHA, "1.1", *build_wheel(ALPHA, "1.1", python_tag="py2.py3"), upload_time="2025-06-01T00:00:00Z"
        ),
        "late-upload",
    ),
    "project-recreated": (
        lambda i: [_retime(i, name, "2099-01-01T00:00:00Z") for name in list(i.files(ALPHA))],
        "project-recreated",
    ),
}


@pytest.mark.parametrize("sign", sorted(SIGNS))
def test_a_warning_sign_is_refused(repo: Repo, sign: str) -> None:
    change, kind = SIGNS[sign]
    change(repo.index)
    out = refused(repo)
    assert f"warning sign: {ALPHA} 1.1: {kind}" in out, out


def test_a_build_tagged_wheel_in_the_lock_is_refused(repo: Repo) -> None:
    name, data = build_wheel(ALPHA, "1.1", build_tag=1, marker="rebuilt")
    repo.index.add(ALPHA, "1.1", name, data, upload_time=DAY2)
    import hashlib

    lock = repo.path / "poetry.lock"
    entry = f'    {{file = "{A11_WHEEL[0]}", hash = '
    text = lock.read_text()
    assert entry in text
    digest = hashlib.sha256(data).hexdigest()
    lock.write_text(text.replace(entry, f'    {{file = "{name}", hash = "sha256:{digest}"}},\n{entry}', 1))
    repo.commit("a rebuilt wheel")
    assert f"trusted: {ALPHA} 1.1: build-tag {name}" in refused(repo)


def test_a_locked_hash_the_served_bytes_do_not_give_is_refused(repo: Repo) -> None:
    repo.index.replace(ALPHA, A11_WHEEL[0], build_wheel(ALPHA, "1.1", marker="swapped")[1])
    out = refused(repo)
    assert f"hash: {A11_WHEEL[0]}: locked as sha256:" in out  # poetry.lock names the file
    assert f"hash: {ALPHA} 1.1 (hash without a filename): sha256:" in out  # requirements.txt


def test_a_locked_file_the_index_no_longer_serves_is_refused(repo: Repo) -> None:
    repo.index.remove(ALPHA, A11_SDIST[0])
    assert "the index does not serve this file" in refused(repo)


# ---------------------------------------------------------------------------------------------
# Errors: exit 2, one line, nothing written


def test_an_unreachable_index_is_an_error(repo: Repo) -> None:
    port = int(repo.index.url.rsplit(":", 1)[1].split("/")[0])
    repo.index.stop()
    try:
        out = refused(repo, "--timeout", "2", code=2)
    finally:
        repo.index.start(port)
    assert "cannot ask the index" in out


def test_commit_needs_a_branch(repo: Repo) -> None:
    git(repo.path, "checkout", "-q", "--detach")
    assert "HEAD is detached" in refused(repo, code=2)


def test_an_unknown_base_is_an_error(repo: Repo) -> None:
    assert "no such git revision" in refused(repo, "--base", "nope", code=2)


# ---------------------------------------------------------------------------------------------
# Refusals: the pull request changes where or how the installer fetches (attack round 9, finds 01
# and 03). pip and Poetry check every locked file against its hash, but not the build dependencies
# of an sdist: a pull request that adds --find-links (with --no-binary), or points a Poetry source
# at another URL while poetry.lock keeps the old one, chose who served that code.

EVIL = "http://127.0.0.1:9/evil/"  # never asked: every case is refused before any request
OPTION_LINES = [
    f"--find-links {EVIL}",
    f"-f {EVIL}",
    f"--find-links={EVIL}",
    f"--extra-index-url {EVIL}",
    "--no-index",
    "--no-binary pwbot-alpha",
    "--no-binary=:all:",
    "--only-binary :none:",
    "--trusted-host 127.0.0.1",
    "--prefer-binary",
    "--pre",
]


@pytest.mark.parametrize("where", ["top", "bottom"])
@pytest.mark.parametrize("line", OPTION_LINES)
def test_a_new_option_line_in_a_requirements_file_is_refused(repo: Repo, line: str, where: str) -> None:
    requirements = repo.path / "requirements.txt"
    text = requirements.read_text()
    requirements.write_text(f"{line}\n{text}" if where == "top" else f"{text.rstrip()}\n{line}\n")
    repo.commit("bump, and an option")
    repo.index.requests.clear()
    out = refused(repo)
    assert "pull request: requirements.txt: changes pip's options since" in out, out
    assert repo.index.requests == []


def test_a_removed_option_line_is_refused(repo: Repo) -> None:
    git(repo.path, "checkout", "-q", "main")
    requirements = repo.path / "requirements.txt"
    requirements.write_text("--only-binary :all:\n" + requirements.read_text())
    repo.commit("binaries only")
    git(repo.path, "checkout", "-q", "bot")
    git(repo.path, "rebase", "-q", "main", "-X", "theirs")
    requirements.write_text(requirements.read_text().replace("--only-binary :all:\n", ""))
    repo.commit("bump, and builds allowed again")
    assert "changes pip's options since" in refused(repo)


def _sources(repo: Repo, text: str) -> None:
    pyproject = repo.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'url = "{repo.index.url}"', text))


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: _sources(r, f'url = "{EVIL}"'),
        lambda r: _sources(r, f'url = "{r.index.url}"\n\n[[tool.poetry.source]]\nname = "x"\nurl = "{EVIL}"'),
        lambda r: (r.path / "pyproject.toml").write_text(
            (r.path / "pyproject.toml").read_text().replace('priority = "primary"', 'priority = "explicit"')
        ),
        lambda r: (r.path / "poetry.toml").write_text('[installer]\nno-binary = ["pwbot-alpha"]\n'),
        lambda r: (r.path / "poetry.toml").write_text(f'[repositories.local]\nurl = "{EVIL}"\n'),
    ],
    ids=["source-url", "second-source", "source-priority", "poetry-toml-no-binary", "poetry-toml-repository"],
)
def test_a_poetry_fetch_setting_changed_by_the_pull_request_is_refused(repo: Repo, edit: Any) -> None:
    edit(repo)
    repo.commit("bump, and where Poetry fetches")
    repo.index.requests.clear()
    out = refused(repo)
    assert "pull request: pyproject.toml: [[tool.poetry.source]] differs" in out or (
        "pull request: poetry.toml: differs from" in out
    ), out
    assert repo.index.requests == []
