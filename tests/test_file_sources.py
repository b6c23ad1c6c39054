"""A trusted version locked with no hash, or from a local file Poetry finds under another name, never
passes (issue 10, attack round 6).

Round 6's pull requests: (01) re-source a trusted version to a vendored wheel (`source.type =
"file"`, `files = []`) and mark the trusted files `vanished` in the ledger: `check` and `diff`
passed and the plugin's `poetry install` installed the vendored bytes, since Poetry checks a file
source's hashes only when it lists some; (02) a lock-version 1.1 `file` source whose path is a
symlink to another wheel name: Poetry matches `[metadata.files]` to the name it resolves to (and
finds no hash), pinwarden to the name as written. Now a version locked from a hashed source (an
index, a URL, a local file) without any sha256/384/512 hash is a finding whatever the ledger says,
and a `file` source leading to another file name is refused.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.guarded_project import make_project
from tests.support.index import PackageIndex, build_wheel, isolated_env

from pinwarden.cli import main

NAME = "pwfile-demo"
GOOD = build_wheel(NAME, "1.0", marker="good")
EVIL_NAME, EVIL = build_wheel(NAME, "1.0", python_tag="py2.py3", marker="EVIL")
HASH = "sha256:" + hashlib.sha256(GOOD[1]).hexdigest()


def lock_text(source: str, files: str, *, layout: str = "2.1") -> str:
    head = (
        f'[[package]]\nname = "{NAME}"\nversion = "1.0"\ndescription = ""\noptional = false\n'
        'python-versions = "*"\n'
    )
    if layout == "1.1":
        return (
            f'{head}\n{source}\n[metadata]\nlock-version = "1.1"\npython-versions = ">=3.10"\n'
            f'content-hash = "x"\n\n[metadata.files]\n{NAME} = [\n{files}]\n'
        )
    return (
        f'{head}groups = ["main"]\nfiles = [\n{files}]\n\n{source}\n'
        '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
    )


def entry(filename: str, digest: str = HASH) -> str:
    return f'    {{file = "{filename}", hash = "{digest}"}},\n'


INDEX = '[package.source]\ntype = "legacy"\nurl = "http://127.0.0.1:9/simple"\nreference = "local"\n'


def file_source(url: str) -> str:
    return f'[package.source]\ntype = "file"\nurl = "{url}"\n'


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An honest poetry.lock of alpha 1.0 from an index, its wheel trusted."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "poetry.lock").write_text(lock_text(INDEX, entry(GOOD[0])))
    assert run("init")[0] == 0
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / EVIL_NAME).write_bytes(EVIL)
    return tmp_path


def vanish_all(ledger: Path) -> None:
    """The ledger edit of find 01: every trusted file marked vanished (no missing-file finding)."""
    ledger.write_text(
        re.sub(r'(\{ file = "[^"]+", hashes = \[[^\]]*\])', r"\1, vanished = true", ledger.read_text())
    )


HASHLESS = {
    "index, files emptied": lambda root: INDEX,
    "file source, relative": lambda root: file_source(f"vendor/{EVIL_NAME}"),
    "file source, absolute": lambda root: file_source(str(root / "vendor" / EVIL_NAME)),
    "url source": lambda root: f'[package.source]\ntype = "url"\nurl = "http://127.0.0.1:9/{EVIL_NAME}"\n',
}


@pytest.mark.parametrize("vanished", [False, True], ids=["ledger-as-is", "ledger-vanished"])
@pytest.mark.parametrize("layout", ["2.1", "1.1"])
@pytest.mark.parametrize("shape", list(HASHLESS))
def test_a_trusted_version_locked_without_a_hash_never_passes_check(
    project: Path, shape: str, layout: str, vanished: bool
) -> None:
    (project / "poetry.lock").write_text(lock_text(HASHLESS[shape](project), "", layout=layout))
    if vanished:
        vanish_all(project / "pinwarden-ledger.toml")
    code, out, err = run("check")
    assert code == 1, out + err
    assert "locked without any file hash" in out


@pytest.mark.parametrize("layout", ["2.1", "1.1"])
@pytest.mark.parametrize("link", ["file", "file in a linked directory"])
def test_a_file_source_leading_to_another_name_is_refused(project: Path, layout: str, link: str) -> None:
    vendor = project / "vendor"
    if link == "file":
        (vendor / GOOD[0]).symlink_to(EVIL_NAME)
        url = f"vendor/{GOOD[0]}"
    else:
        (project / "real").mkdir()
        (project / "real" / EVIL_NAME).write_bytes(EVIL)
        (project / "linked").symlink_to(project / "real")
        (vendor / GOOD[0]).symlink_to(project / "linked" / EVIL_NAME)
        url = f"vendor/{GOOD[0]}"
    (project / "poetry.lock").write_text(lock_text(file_source(url), entry(GOOD[0]), layout=layout))
    code, out, err = run("check")
    assert code == 2, out + err
    assert err.startswith("pinwarden: error: ") and err.count("\n") == 1, err
    assert f"leads through a symlink to {EVIL_NAME}" in err


@pytest.mark.parametrize("layout", ["2.1", "1.1"])
def test_a_file_source_through_a_linked_directory_keeping_its_name_is_read(
    project: Path, layout: str
) -> None:
    (project / "real").mkdir()
    (project / "real" / GOOD[0]).write_bytes(GOOD[1])
    (project / "linked").symlink_to(project / "real")
    source = file_source(f"linked/{GOOD[0]}")
    (project / "poetry.lock").write_text(lock_text(source, entry(GOOD[0]), layout=layout))
    code, out, err = run("check")
    assert code in (0, 1) and "pinwarden: error" not in err, out + err  # read; judged as usual


@pytest.mark.e2e
def test_find_01_the_plugin_never_installs_a_vendored_file_locked_without_hashes(tmp_path: Path) -> None:
    """As found: lock, ledger and a vendored wheel changed together; real `poetry install`."""
    index = PackageIndex()
    index.add(NAME, "1.0", *GOOD)
    with index.serve():
        project = make_project(tmp_path, index.url, [f"{NAME}==1.0"])
        project.ok("lock", "-n")
    root = project.path
    (root / "vendor").mkdir()
    (root / "vendor" / EVIL_NAME).write_bytes(EVIL)
    text = project.lock.read_text()
    text = re.sub(r"files = \[\n.*?\]\n", "files = []\n", text, flags=re.S)
    text = re.sub(r"\[package\.source\]\n(?:.+\n)+", file_source(f"vendor/{EVIL_NAME}"), text)
    project.lock.write_text(text)
    vanish_all(project.ledger)
    env = {**isolated_env(tmp_path / "check-env")}
    check = subprocess.run(
        [sys.executable, "-m", "pinwarden", "check"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 1, check.stdout + check.stderr
    done = project.poetry("install", "-n")
    assert done.code == 1, done.output
    assert not list(root.glob(f".venv/lib/python*/site-packages/{NAME.replace('-', '_')}/__init__.py"))


# -- round 8: a file source named otherwise than its hashes, a `file:` prefix ------------------------


@pytest.mark.parametrize("layout", ["2.1", "1.1"])
@pytest.mark.parametrize("prefix", ["", "file:", "file://", "file:///nonexistent/../"])
def test_a_file_source_is_resolved_as_poetry_resolves_it(project: Path, layout: str, prefix: str) -> None:
    """Poetry joins the lock's directory and the url whatever it says, then resolves: a `file:` prefix
    is a relative directory to it. A link there to another wheel name is refused (round 8, find 02)."""
    link = project.joinpath(f"{prefix}vendor/{GOOD[0]}")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(project / "vendor" / EVIL_NAME)
    source = file_source(f"{prefix}vendor/{GOOD[0]}")
    (project / "poetry.lock").write_text(lock_text(source, entry(GOOD[0]), layout=layout))
    code, out, err = run("check")
    assert code == 2 and err.startswith("pinwarden: error: "), out + err
    assert f"leads through a symlink to {EVIL_NAME}" in err


@pytest.mark.parametrize("url", [f"vendor/{EVIL_NAME}", "vendor/{root}/" + EVIL_NAME])
def test_a_file_source_naming_a_file_its_hashes_do_not_list_is_refused(project: Path, url: str) -> None:
    """Round 8, find 03: Poetry 2.1 checks a local file's hash only when its name is listed."""
    url = f"vendor/{EVIL_NAME}" if "{root}" in url else url
    (project / "poetry.lock").write_text(lock_text(file_source(url), entry(GOOD[0])))
    code, out, err = run("check")
    assert code == 2 and err.startswith("pinwarden: error: "), out + err
    assert "names a file its hashes do not list" in err


def test_the_plugin_checks_a_local_file_before_poetry_installs_it(tmp_path: Path) -> None:
    """The install guard verifies each `file` package's bytes against its pins first (any Poetry)."""
    from types import SimpleNamespace

    from poetry.console.exceptions import PoetryRuntimeError

    from pinwarden.poetry_plugin.guard import PoetryGuard

    wheel = tmp_path / EVIL_NAME
    wheel.write_bytes(EVIL)
    guard = PoetryGuard.__new__(PoetryGuard)
    listed = [{"file": GOOD[0], "hash": HASH}]
    package = SimpleNamespace(
        name=NAME, pretty_version="1.0", source_type="file", source_url=str(wheel), files=listed
    )
    with pytest.raises(PoetryRuntimeError, match=r"is not a file poetry\.lock lists"):
        guard.verify_local_files([package])  # type: ignore[list-item]
    package.files = [{"file": EVIL_NAME, "hash": HASH}]
    with pytest.raises(PoetryRuntimeError, match="does not match"):
        guard.verify_local_files([package])  # type: ignore[list-item]
    package.files = [{"file": EVIL_NAME, "hash": "sha256:" + hashlib.sha256(EVIL).hexdigest()}]
    guard.verify_local_files([package])  # type: ignore[list-item]
