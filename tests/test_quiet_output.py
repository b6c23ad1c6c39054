"""Issue 11, quieter output and files to manage, through the real tools.

First use is one summary line naming the ledger relative to the project (the per-version lines are
-v's); a refused pip-compile result is never echoed; an unreachable index is one line per index
with its cause and what to check, and is asked once, not once per project; evidence lists are
bounded; the file locks never show in `git status`.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import compiled_project as cp
from tests.support.guarded_project import ALPHA, GAMMA, OTHER, make_project, publish_base
from tests.support.index import PackageIndex, build_wheel

from pinwarden.cli import main
from pinwarden.shared.audit import MAX_EVIDENCE_ITEMS, bounded
from pinwarden.shared.ledger import Ledger, dumps
from pinwarden.shared.notices import first_use_lines, shown_path
from pinwarden.shared.store import LOCKS_DIR, LedgerStore, lock_file_for

LEDGER, BASELINE = "pinwarden-ledger.toml", "pinwarden-baseline.toml"


def git_init(path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(path)], check=True, capture_output=True)


def untracked(path: Path) -> set[str]:
    """What `git status` shows in the work tree (every untracked file, one by one)."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=path,
        check=True,
        capture_output=True,
        text=True,
    )
    return {line[3:] for line in done.stdout.splitlines()}


def pinwarden_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("pinwarden:")]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


# -- the notices -------------------------------------------------------------------------------------


def test_first_use_is_one_line_and_the_details_are_verbose() -> None:
    keys = [("b", "2"), ("a", "1")]
    assert first_use_lines(keys, LEDGER) == [f"pinwarden: trusted 2 new versions on first use ({LEDGER})"]
    assert first_use_lines(keys[:1], LEDGER) == [f"pinwarden: trusted 1 new version on first use ({LEDGER})"]
    assert first_use_lines(keys, LEDGER, verbose=True) == [
        "pinwarden: a 1 trusted on first use",
        "pinwarden: b 2 trusted on first use",
        f"pinwarden: trusted 2 new versions on first use ({LEDGER})",
    ]
    assert first_use_lines([], LEDGER, verbose=True) == []


def test_paths_are_shown_relative_to_the_project(tmp_path: Path) -> None:
    assert shown_path(tmp_path / LEDGER, tmp_path) == LEDGER
    assert shown_path(tmp_path / "sub" / ".." / "deps" / LEDGER, tmp_path) == f"deps/{LEDGER}"
    elsewhere = tmp_path.parent / "elsewhere" / LEDGER
    assert shown_path(elsewhere, tmp_path) == str(elsewhere)


def test_evidence_lists_are_bounded() -> None:
    names = [f"w{i}.whl" for i in range(117)]
    assert bounded("trusted_files", names) == {
        "trusted_files": names[:MAX_EVIDENCE_ITEMS],
        "trusted_files_total": 117,
    }
    assert bounded("trusted_files", names[:3]) == {"trusted_files": names[:3]}


# -- file locks where git never looks ---------------------------------------------------------------


def test_locks_live_in_the_git_directory_and_every_spelling_shares_one(tmp_path: Path) -> None:
    repo, other = tmp_path / "repo", tmp_path / "other"
    git_init(repo)
    (repo / LEDGER).write_text(dumps(Ledger()))
    lock = lock_file_for(repo / LEDGER)
    assert lock.parent == repo / ".git" / LOCKS_DIR
    assert lock_file_for(repo / "sub" / ".." / LEDGER) == lock
    # A ledger in another work tree, reached through a link: the lock of the file written.
    git_init(other)
    (other / "link.toml").symlink_to(repo / LEDGER)
    assert lock_file_for(other / "link.toml") == lock
    # A linked work tree (a `.git` file) uses the git directory it points to.
    linked = tmp_path / "linked"
    (linked / "gitdir").mkdir(parents=True)
    (linked / "tree").mkdir()
    (linked / "tree" / ".git").write_text(f"gitdir: {linked / 'gitdir'}\n")
    assert lock_file_for(linked / "tree" / LEDGER).parent == linked / "gitdir" / LOCKS_DIR
    # Outside any work tree: beside the file, hidden, as before.
    assert lock_file_for(tmp_path / LEDGER) == tmp_path / f".{LEDGER}.lock"
    with LedgerStore(repo / LEDGER).locked():
        assert lock.is_file()
    assert untracked(repo) == {LEDGER}


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    for key in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "NETRC"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PINWARDEN_CACHE_DIR", str(tmp_path.parent / "cache"))
    return tmp_path


WHEELS = [build_wheel(f"pwquiet-p{i:02d}", "1.0") for i in range(30)]


def requirements(index: str, extra: str = "") -> str:
    lines = [f"--index-url {index}"] + ([f"--extra-index-url {extra}"] if extra else [])
    for (filename, data), i in zip(WHEELS, range(len(WHEELS)), strict=True):
        lines.append(f"pwquiet-p{i:02d}==1.0 --hash={cp.sha256(data)}")
        assert filename.startswith(f"pwquiet_p{i:02d}-1.0")
    return "\n".join(lines) + "\n"


def test_cli_commands_leave_only_their_files_in_git_status(isolated: Path) -> None:
    index = PackageIndex()
    for filename, data in WHEELS:
        index.add(filename.split("-")[0].replace("_", "-"), "1.0", filename, data)
    git_init(isolated)
    with index.serve():
        (isolated / "requirements.txt").write_text(requirements(index.url))
        assert run("init")[0] == 0
        more = build_wheel("pwquiet-p00", "1.0", python_tag="py2")
        index.add("pwquiet-p00", "1.0", *more)
        text = requirements(index.url).replace(
            f"--hash={cp.sha256(WHEELS[0][1])}",
            f"--hash={cp.sha256(WHEELS[0][1])} --hash={cp.sha256(more[1])}",
        )
        (isolated / "requirements.txt").write_text(text)
        assert run("approve", "pwquiet-p00==1.0", "--reason", "py2 wheel")[0] == 0, "approve"
        code, out, err = run("audit")
        assert code == 0, out + err
    assert untracked(isolated) == {"requirements.txt", LEDGER, BASELINE}
    assert list((isolated / ".git" / LOCKS_DIR).iterdir())


# -- an unreachable index ---------------------------------------------------------------------------


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/simple/"


@pytest.fixture
def no_dns_for_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    """`.invalid` never resolves (RFC 2606); answered here, so the test never asks a resolver."""
    real = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if isinstance(host, str) and host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_an_unreachable_index_is_one_line_with_its_cause_and_is_asked_once(
    isolated: Path, no_dns_for_invalid: None
) -> None:
    dead, nowhere = _dead_url(), "http://pinwarden-test.invalid/simple/"
    (isolated / "requirements.txt").write_text(requirements(dead, extra=nowhere))
    assert run("init")[0] == 0
    code, out, err = run("audit", "--jobs", "4")
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 3, err  # one per index, and the count
    refused = next(line for line in lines if dead in line)
    assert "connection refused" in refused and "30 locked versions not audited" in refused
    assert "--index-url" in refused and "and 27 more" in refused
    unresolved = next(line for line in lines if "pinwarden-test.invalid" in line)
    assert "does not resolve (DNS)" in unresolved
    assert lines[-1] == "pinwarden: error: 30 locked version(s) could not be audited"
    assert "could not audit everything" in out
    code, out, _ = run("audit", "--jobs", "4", "--format", "json")
    report = json.loads(out)
    assert code == 2 and len(report["errors"]) == 2
    assert report["requests"] == 2  # each index asked once, not once per project


# -- the pip-compile wrapper ------------------------------------------------------------------------


@pytest.fixture
def compiled(tmp_path: Path) -> Iterator[cp.Project]:
    with cp.compiled_project(tmp_path) as project:
        git_init(project.path)
        yield project


def test_pip_compile_first_use_is_one_line_and_a_refusal_echoes_nothing(compiled: cp.Project) -> None:
    err = cp.ok(compiled.compile())
    assert pinwarden_lines(err) == [
        f"pinwarden: trusted 2 new versions on first use ({LEDGER})",
        "pinwarden: 2 pins, all trusted; wrote requirements.txt",
    ]
    assert f"{cp.ALPHA}==1.0 \\" in err  # an accepted result is echoed, as pip-compile does
    compiled.output.unlink()
    err = cp.ok(compiled.compile("-v"))
    assert f"pinwarden: {cp.ALPHA} 1 trusted on first use" not in err  # nothing new this time
    compiled.index.add(cp.ALPHA, "1.0", *cp.CP311_WHEEL)
    before = compiled.state()
    done = compiled.compile("--no-reuse-hashes")
    err = cp.ok(done, 1)
    assert "NEW FILE" in err and compiled.state() == before
    assert f"{cp.ALPHA}==1.0 \\" not in err and "--hash=sha256:" not in err, err
    assert untracked(compiled.path) == {"requirements.in", "requirements.txt", LEDGER}


def test_pip_compile_verbose_names_each_first_use(compiled: cp.Project) -> None:
    err = cp.ok(compiled.compile("-v"))
    assert f"pinwarden: {cp.ALPHA} 1 trusted on first use" in err
    assert f"pinwarden: {cp.BETA} 2 trusted on first use" in err


# -- the Poetry plugin ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    publish_base(index)
    with index.serve():
        yield index


def test_poetry_first_use_is_one_line_relative_and_verbose_on_v(index: PackageIndex, tmp_path: Path) -> None:
    project = make_project(tmp_path / "quiet", index.url, [ALPHA, OTHER, GAMMA])
    git_init(project.path)
    done = project.ok("lock", "-n")
    assert [line for line in pinwarden_lines(done.output) if "first use" in line] == [
        f"pinwarden: trusted 3 new versions on first use ({LEDGER})"
    ]
    assert not [line for line in pinwarden_lines(done.output) if str(project.path) in line]
    assert untracked(project.path) == {"pyproject.toml", "poetry.lock", LEDGER}

    verbose = make_project(tmp_path / "verbose", index.url, [ALPHA, OTHER, GAMMA])
    done = verbose.ok("lock", "-n", "-v")
    for name in (ALPHA, OTHER, GAMMA):
        assert f"pinwarden: {name} 1 trusted on first use" in done.output
