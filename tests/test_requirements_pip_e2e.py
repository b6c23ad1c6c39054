"""Issue 10, class 3, end to end: a requirements file that real pip reads differently from what it
shows (a coding line, a comment that continues onto the next line) never passes `pinwarden check`.

Each file shows the trusted pin of 1.0 to a UTF-8 reader and makes pip install the untrusted 2.0;
the test first proves that with the real pip against a local index, then runs `pinwarden check`:
a finding (exit 1) or a refusal (exit 2, one `pinwarden: error:` line), never exit 0.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, build_wheel, isolated_env

NAME = "pwdemo-alpha"  # cannot exist on PyPI: a leak to the real index fails loudly
TRUSTED = build_wheel(NAME, "1.0")
UNTRUSTED = build_wheel(NAME, "2.0", marker="untrusted")
H1 = "sha256:" + hashlib.sha256(TRUSTED[1]).hexdigest()
H2 = "sha256:" + hashlib.sha256(UNTRUSTED[1]).hexdigest()
SHOWN = f"{NAME}==1.0 --hash={H1}\n"

# (coding line, how the codec writes a line break that a UTF-8 reader does not see). The pip-only
# line ends in ` # \`: pip joins the next line (the trusted pin) into that comment.
CODECS = [
    ("# -*- coding: unicode_escape -*-\n", "\\n"),
    ("# coding: raw_unicode_escape\n", "\\u000a"),
    ("# vim: set fileencoding=utf-7 :\n", "+AAo-"),
    ("#!/usr/bin/env pip\n# -*- coding: unicode_escape -*-\n", "\\n"),
    ("#coding=UTF-7\n", "+AAo-"),
]
ATTACKS = {
    **{
        f"coding-{n}": (head + f"# {newline}{NAME}==2.0 --hash={H2} # \\\n" + SHOWN).encode()
        for n, (head, newline) in enumerate(CODECS)
    },
    # No coding line: the comment continues onto the hash line, so pip checks no hash at all.
    "comment-continues": f"{NAME}==2.0 # pinned \\\n    --hash={H1}\n".encode(),
    "comment-continues-crlf": f"{NAME}==2.0 # \\\r\n    --hash={H1}\r\n".encode(),
}


def pinwarden(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pinwarden", *args]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def pip_installs(cwd: Path, env: dict[str, str], index_url: str) -> str:
    """The version of NAME that the real pip installs from requirements.txt."""
    target = cwd / "target"
    argv = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-cache-dir", "--target", str(target)]
    argv += ["--index-url", index_url, "-r", "requirements.txt"]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (info,) = target.glob("pwdemo_alpha-*.dist-info")
    return info.name.removeprefix("pwdemo_alpha-").removesuffix(".dist-info")


@pytest.fixture(scope="module")
def index() -> object:
    index = PackageIndex()
    index.add(NAME, "1.0", *TRUSTED)
    index.add(NAME, "2.0", *UNTRUSTED)
    with index.serve() as url:
        yield url


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_file_pip_reads_otherwise_never_passes_check(tmp_path: Path, index: str, attack: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = isolated_env(tmp_path / "env")
    requirements = project / "requirements.txt"
    requirements.write_text(SHOWN)
    done = pinwarden(project, env, "init")
    assert done.returncode == 0, done.stderr
    assert pinwarden(project, env, "check").returncode == 0

    requirements.write_bytes(ATTACKS[attack])
    assert pip_installs(project, env, index) == "2.0"  # the attack is real
    for args in (("check",), ("check", "requirements.txt")):
        done = pinwarden(project, env, *args)
        assert done.returncode in (1, 2), (attack, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        if done.returncode == 2:
            (line,) = done.stderr.splitlines()
            assert line.startswith("pinwarden: error: ") and "requirements.txt" in line
