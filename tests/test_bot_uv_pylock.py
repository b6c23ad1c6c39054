"""`pinwarden accept-first-use` on uv.lock and pylock.toml: a dependency bot's pull request may not
change where or how the installer fetches (the uv.lock registry of a package, an index or a file
host the base lock never named, uv's fetch settings in `[tool.uv]` or uv.toml), and a clean bump on
the same registry is still recorded end to end.

A local git repository per format: on `main`, a project locked by the real uv (`uv lock`) or the
real `pip lock` against an index on 127.0.0.1, with the ledger `pinwarden init` wrote; on `bot`, the
bump a bot makes (pwbot-alpha 1.0 -> 1.1, relocked by the same tool). Every refusal leaves the ledger
and the branch as they were, and asks no index (tests/test_bot_path.py: the same for Poetry and pip).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, build_sdist, isolated_env
from tests.support.uv_project import run_uv, uv_env
from tests.test_bot_path import ALPHA, BETA, LEDGER, Repo, git, publish, refused

EVIL = "http://127.0.0.1:9/evil/"  # never asked: every case is refused before any request
GAMMA_SDIST = build_sdist("pwbot-gamma", "3.0")


def pyproject(index: PackageIndex, *pins: str, extra: str = "") -> str:
    """The project: its dependencies, and (for pip lock, which names no index) the test index's
    host allowed as a file host."""
    deps = ", ".join(f'"{p}"' for p in pins)
    host = index.url.split("/")[2]
    return (
        f'[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.10"\ndependencies = [{deps}]\n\n'
        f'[tool.pinwarden]\nfile-hosts = ["{host}"]\n' + extra
    )


class UvRepo(Repo):
    def lock(self, pins: str) -> None:
        """What the bot does for uv: edit the dependency, `uv lock` (no pinwarden)."""
        (self.path / "pyproject.toml").write_text(pyproject(self.index, *pins.split()))
        run_uv(["lock", "--python", sys.executable], self.path, self.env)


class PipLockRepo(Repo):
    def lock(self, pins: str) -> None:
        (self.path / "pyproject.toml").write_text(pyproject(self.index, *pins.split()))
        argv = [sys.executable, "-m", "pip", "lock", "--index-url", self.index.url, "-o", "pylock.toml"]
        done = subprocess.run(
            [*argv, *pins.split()], cwd=self.path, env=self.env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def served() -> Iterator[PackageIndex]:
    index = PackageIndex()
    publish(index)
    with index.serve():
        yield index


def _template(root: Path, repo: Repo) -> Repo:
    repo.path.mkdir()
    repo.lock(f"{ALPHA}==1.0 {BETA}==2.0")
    assert repo.run("init")[0] == 0
    (repo.path / ".gitignore").write_text(".pinwarden-*.lock\n.venv/\n")
    git(repo.path, "init", "-q", "-b", "main")
    for key, value in (("user.name", "pinwarden tests"), ("user.email", "tests@example.invalid")):
        git(repo.path, "config", key, value)
    repo.commit("base: lock and ledger")
    git(repo.path, "checkout", "-q", "-b", "bot")
    repo.lock(f"{ALPHA}==1.1 {BETA}==2.0")
    repo.commit(f"Bump {ALPHA} from 1.0 to 1.1")
    return repo


@pytest.fixture(scope="module")
def uv_template(served: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Repo:
    root = tmp_path_factory.mktemp("bot-uv")
    return _template(root, UvRepo(root / "repo", uv_env(root / "env", served.url), served))


@pytest.fixture(scope="module")
def pylock_template(served: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Repo:
    root = tmp_path_factory.mktemp("bot-pylock")
    return _template(root, PipLockRepo(root / "repo", isolated_env(root / "env"), served))


def _copy(template: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    publish(template.index)
    path = tmp_path / type(template).__name__
    shutil.copytree(template.path, path, symlinks=True)
    # pip lock names no index: pinwarden asks pip's (its configuration), here the test index.
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", template.index.url)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    return type(template)(path, template.env, template.index)


@pytest.fixture
def uv_repo(uv_template: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    return _copy(uv_template, tmp_path, monkeypatch)


@pytest.fixture
def pylock_repo(pylock_template: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    return _copy(pylock_template, tmp_path, monkeypatch)


def offline_refusal(repo: Repo) -> str:
    repo.index.requests.clear()
    out = refused(repo)
    assert repo.index.requests == [], "refused offline: no index asked"
    return out


def pull_request_reasons(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.startswith("  pull request: ")]


# ---------------------------------------------------------------------------------------------
# The path through: a clean bump on the same registry


@pytest.mark.parametrize("which", ["uv_repo", "pylock_repo"])
def test_a_clean_bump_is_recorded_committed_and_check_passes(
    which: str, request: pytest.FixtureRequest
) -> None:
    repo: Repo = request.getfixturevalue(which)
    assert repo.run("check")[0] == 1  # new-version
    head = repo.head()
    code, out, err = repo.accept("--commit")
    assert code == 0, out + err
    assert f"first use recorded for 1 version(s): {ALPHA}==1.1" in out
    assert git(repo.path, "rev-parse", "HEAD~1") == head
    assert git(repo.path, "diff", "--name-only", "HEAD~1", "HEAD") == LEDGER
    assert git(repo.path, "status", "--porcelain") == ""
    assert repo.run("check")[0] == 0


def test_a_harmless_uv_setting_does_not_refuse(uv_repo: Repo) -> None:
    """Resolution inputs the lock shows the result of (and local behaviour) are not fetch settings."""
    with (uv_repo.path / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.uv]\nrequired-version = ">=0.9"\nexclude-newer = "2026-01-01T00:00:00Z"\n')
    uv_repo.commit("bump, and uv's version")
    code, out, err = uv_repo.accept()
    assert code == 0, out + err


# ---------------------------------------------------------------------------------------------
# uv.lock: the registry of a package, a new registry, a file's host


def test_a_real_relock_against_another_index_is_refused(uv_repo: Repo) -> None:
    other = PackageIndex()
    publish(other)
    with other.serve() as url:
        run_uv(["lock", "--python", sys.executable], uv_repo.path, {**uv_repo.env, "UV_DEFAULT_INDEX": url})
        uv_repo.commit("relocked elsewhere")
        other.requests.clear()
        out = offline_refusal(uv_repo)
        assert other.requests == []
    plain = url.rstrip("/")
    reasons = pull_request_reasons(out)
    assert f"pull request: uv.lock: {ALPHA}: fetched from index {plain}; at the merge base of main" in out, (
        out
    )
    assert f"pull request: uv.lock: {BETA}: fetched from index {plain}; at the merge base of main" in out, out
    assert len(reasons) == 2, reasons  # one per package moved, no echo per file or host


def _uv_edit(pattern: str, replacement: Callable[[Repo], str]) -> Callable[[Repo], None]:
    def edit(repo: Repo) -> None:
        lock = repo.path / "uv.lock"
        text = lock.read_text()
        new = re.sub(pattern, replacement(repo), text, count=1, flags=re.M)
        assert new != text
        lock.write_text(new)

    return edit


def _alpha_registry(repo: Repo) -> str:
    return f'name = "{ALPHA}"\nversion = "1.1"\nsource = {{ registry = "{EVIL}" }}'


def _gamma(repo: Repo) -> str:
    import hashlib

    digest = hashlib.sha256(GAMMA_SDIST[1]).hexdigest()
    return (
        f'\\g<0>\n\n[[package]]\nname = "pwbot-gamma"\nversion = "3.0"\nsource = {{ registry = "{EVIL}" }}\n'
        f'sdist = {{ url = "{EVIL}pwbot-gamma/{GAMMA_SDIST[0]}", hash = "sha256:{digest}" }}\n'
    )


def _localhost(repo: Repo) -> str:
    return f'url = "http://localhost:{_port(repo)}/files/{ALPHA}/'


UV_LOCK_EDITS = {
    "registry-moved": (
        _uv_edit(rf'name = "{ALPHA}"\nversion = "1.1"\nsource = \{{ registry = "[^"]+" \}}', _alpha_registry),
        f"pull request: uv.lock: {ALPHA}: fetched from index {EVIL.rstrip('/')}; at the merge base of main",
    ),
    "new-registry": (
        _uv_edit(r"\Z", _gamma),
        f"pull request: uv.lock: names the index {EVIL.rstrip('/')} (for pwbot-gamma), which it did not at",
    ),
    "file-host": (
        _uv_edit(rf'url = "http://127\.0\.0\.1:\d+/files/{ALPHA}/(?=pwbot_alpha-1\.1)', _localhost),
        "pull request: uv.lock: pwbot_alpha-1.1",
    ),
}


@pytest.mark.parametrize("change", sorted(UV_LOCK_EDITS))
def test_a_uv_lock_fetching_elsewhere_is_refused(uv_repo: Repo, change: str) -> None:
    edit, expected = UV_LOCK_EDITS[change]
    edit(uv_repo)
    uv_repo.commit(f"bump, and {change}")
    out = offline_refusal(uv_repo)
    assert expected in out, out
    assert len(pull_request_reasons(out)) == 1, out
    if change == "file-host":  # also the check's finding: a host the index does not use
        assert "localhost" in out and f"trusted: {ALPHA} 1.1: foreign-host" in out, out


# ---------------------------------------------------------------------------------------------
# [tool.uv] and uv.toml: where uv fetches from, whether and how it builds

UV_SETTINGS = {
    "index-url": f'[tool.uv]\nindex-url = "{EVIL}"',
    "extra-index-url": f'[tool.uv]\nextra-index-url = ["{EVIL}"]',
    "find-links": f'[tool.uv]\nfind-links = ["{EVIL}"]',
    "find-links-dotted": f'[tool]\nuv.find-links = ["{EVIL}"]',
    "no-index": "[tool.uv]\nno-index = true",
    "index": f'[[tool.uv.index]]\nname = "evil"\nurl = "{EVIL}"',
    "index-inline": f'[tool.uv]\nindex = [{{ name = "evil", url = "{EVIL}", default = true }}]',
    "sources": f'[tool.uv.sources]\n{ALPHA} = {{ url = "{EVIL}a.tar.gz" }}',
    "index-strategy": '[tool.uv]\nindex-strategy = "unsafe-best-match"',
    "no-binary": "[tool.uv]\nno-binary = true",
    "no-binary-package": f'[tool.uv]\nno-binary-package = ["{ALPHA}"]',
    "no-build": "[tool.uv]\nno-build = true",
    "no-build-isolation": "[tool.uv]\nno-build-isolation = true",
    "build-constraint-dependencies": '[tool.uv]\nbuild-constraint-dependencies = ["setuptools==1"]',
    "extra-build-dependencies": f'[tool.uv.extra-build-dependencies]\n{ALPHA} = ["evil"]',
    "config-settings": '[tool.uv]\nconfig-settings = { editable_mode = "compat" }',
    "dependency-metadata": f'[[tool.uv.dependency-metadata]]\nname = "{ALPHA}"\nversion = "1.1"',
    "allow-insecure-host": '[tool.uv]\nallow-insecure-host = ["127.0.0.1"]',
    "pip": f'[tool.uv.pip]\nextra-index-url = ["{EVIL}"]',
    "unknown-setting": "[tool.uv]\na-setting-from-a-newer-uv = true",
}


@pytest.mark.parametrize("setting", sorted(UV_SETTINGS))
@pytest.mark.parametrize("which", ["uv_repo", "pylock_repo"])
def test_a_uv_fetch_setting_changed_by_the_pull_request_is_refused(
    which: str, setting: str, request: pytest.FixtureRequest
) -> None:
    repo: Repo = request.getfixturevalue(which)
    with (repo.path / "pyproject.toml").open("a") as handle:
        handle.write("\n" + UV_SETTINGS[setting] + "\n")
    repo.commit(f"bump, and {setting}")
    out = offline_refusal(repo)
    key = setting.removesuffix("-dotted").removesuffix("-inline").replace("unknown-setting", "a-setting")
    assert re.search(
        rf"pull request: pyproject\.toml: \[tool\.uv\] {key}\S* differ\(s\) from the merge base of main", out
    ), out
    assert len(pull_request_reasons(out)) == 1, out


@pytest.mark.parametrize("text", [f'index-url = "{EVIL}"', "no-build = true", "# nothing but a comment"])
def test_a_uv_toml_added_or_changed_is_refused(uv_repo: Repo, text: str) -> None:
    (uv_repo.path / "uv.toml").write_text(text + "\n")
    uv_repo.commit("bump, and uv.toml")
    out = offline_refusal(uv_repo)
    assert "pull request: uv.toml: differs from the merge base of main" in out, out


def test_a_fetch_setting_alone_with_nothing_new_is_refused(uv_repo: Repo) -> None:
    """Without a new version to record the pull request was 'nothing new' (exit 0): a workflow that
    merges what passes would merge a find-links of its choosing."""
    git(uv_repo.path, "checkout", "-q", "-b", "settings-only", "main")
    with (uv_repo.path / "pyproject.toml").open("a") as handle:
        handle.write(f'\n[tool.uv]\nfind-links = ["{EVIL}"]\n')
    uv_repo.commit("find-links")
    assert "[tool.uv] find-links differ(s) from the merge base of main" in offline_refusal(uv_repo)


# ---------------------------------------------------------------------------------------------
# pylock.toml: an index, a file's host


def _pylock_edit(repo: Repo, old: str, new: str) -> None:
    lock = repo.path / "pylock.toml"
    text = lock.read_text()
    assert old in text
    lock.write_text(text.replace(old, new, 1))


def _port(repo: Repo) -> str:
    return repo.index.url.split(":")[2].split("/")[0]


def _pylock_index(repo: Repo) -> None:
    head = f'name = "{ALPHA}"\nversion = "1.1"\n'
    _pylock_edit(repo, head, f'{head}index = "{EVIL}"\n')


def _pylock_host(repo: Repo) -> None:
    path = f"/files/{ALPHA}/pwbot_alpha-1.1"
    _pylock_edit(repo, f"http://127.0.0.1:{_port(repo)}{path}", f"http://localhost:{_port(repo)}{path}")


PYLOCK_EDITS = {
    "index-added": (
        _pylock_index,
        f"pull request: pylock.toml: {ALPHA}: fetched from index {EVIL.rstrip('/')}; at the merge base",
    ),
    "file-host": (_pylock_host, "pull request: pylock.toml: pwbot_alpha-1.1"),
}


@pytest.mark.parametrize("change", sorted(PYLOCK_EDITS))
def test_a_pylock_fetching_elsewhere_is_refused(pylock_repo: Repo, change: str) -> None:
    edit, expected = PYLOCK_EDITS[change]
    edit(pylock_repo)
    pylock_repo.commit(f"bump, and {change}")
    out = offline_refusal(pylock_repo)
    assert expected in out, out
    assert len(pull_request_reasons(out)) == 1, out
    if change == "file-host":  # also the check's finding (file-hosts allows only the index's host)
        assert f"trusted: {ALPHA} 1.1: foreign-host" in out, out


def test_a_fetch_setting_in_a_workspace_member_is_refused(served: PackageIndex, tmp_path: Path) -> None:
    """uv takes the sources and indexes of every workspace member it locks, not only the root's."""
    from tests.support.uv_project import local_project

    repo = UvRepo(tmp_path / "repo", uv_env(tmp_path / "env", served.url), served)
    member = local_project(repo.path / "packages" / "lib", "lib", "0.1.0")
    workspace = (
        '[tool.uv.workspace]\nmembers = ["packages/lib"]\n\n[tool.uv.sources]\nlib = { workspace = true }\n'
    )
    (repo.path / "pyproject.toml").write_text(
        pyproject(served, f"{ALPHA}==1.0", "lib", extra="\n" + workspace)
    )
    run_uv(["lock", "--python", sys.executable], repo.path, repo.env)
    assert repo.run("init")[0] == 0
    git(repo.path, "init", "-q", "-b", "main")
    for key, value in (("user.name", "pinwarden tests"), ("user.email", "tests@example.invalid")):
        git(repo.path, "config", key, value)
    repo.commit("base: a workspace")
    git(repo.path, "checkout", "-q", "-b", "bot")
    with (member / "pyproject.toml").open("a") as handle:
        handle.write(f'\n[tool.uv]\nfind-links = ["{EVIL}"]\n')
    repo.commit("the member finds links elsewhere")
    out = offline_refusal(repo)
    assert "pull request: packages/lib/pyproject.toml: [tool.uv] find-links differ(s)" in out, out
