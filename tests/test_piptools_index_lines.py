"""The indexes `pinwarden pip-compile` asks are the ones pip-compile used (issue 10, attack round 5).

pip-compile applies `--index-url`, `--extra-index-url` and `--no-index` lines of its input files
(and of files they include with -r or -c) to its package finder. The wrapper took the indexes from
the command line and pip's configuration only, so the look-up that reads warning signs asked
another index: with the project's index named in requirements.in and pip's configuration pointing
elsewhere, a new version whose only file came 394 days late was trusted on first use, silently,
and the look-up sent the project's names to that other index (PyPI by default). Now the runner
reports the finder's indexes after pip-compile read its inputs. Real pip-compile; two indexes on
127.0.0.1, the configured one a decoy without the project.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, build_wheel, isolated_env

pytestmark = pytest.mark.e2e

NAME = "pwindex-demo"  # cannot exist on PyPI


def in_file(line: str) -> Callable[[Path, str], None]:
    def write(project: Path, url: str) -> None:
        (project / "requirements.in").write_text(f"{line.format(url=url)}\n{NAME}\n")

    return write


def included(flag: str, line: str) -> Callable[[Path, str], None]:
    def write(project: Path, url: str) -> None:
        (project / "base.txt").write_text(f"{line.format(url=url)}\n")
        (project / "requirements.in").write_text(f"{flag} base.txt\n{NAME}\n")

    return write


PLACES = {
    "--index-url URL": in_file("--index-url {url}"),
    "--index-url=URL": in_file("--index-url={url}"),
    "-i URL": in_file("-i {url}"),
    "-iURL": in_file("-i{url}"),
    "--extra-index-url URL": in_file("--extra-index-url {url}"),
    "-r base.txt holding -i": included("-r", "-i {url}"),
    "-c base.txt holding --index-url": included("-c", "--index-url {url}"),
}


def compile_(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pinwarden", "pip-compile", "--no-interaction", *args, "requirements.in"]
    return subprocess.run(
        argv, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize("place", list(PLACES))
def test_signs_are_read_from_the_index_named_in_the_input_files(tmp_path: Path, place: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = isolated_env(tmp_path / "env")
    env.pop("CI", None)
    decoy = PackageIndex()  # pip's configured index: it has no such project
    decoy.add("pwindex-other", "1.0", *build_wheel("pwindex-other", "1.0"))
    index = PackageIndex()
    for platform in ("any", "manylinux1_x86_64"):
        index.add(
            NAME, "1.0", *build_wheel(NAME, "1.0", platform=platform), upload_time="2020-01-01T00:00:00Z"
        )
    with decoy.serve() as decoy_url, index.serve() as url:
        env["PIP_INDEX_URL"] = decoy_url
        PLACES[place](project, url)
        first = compile_(project, env)
        assert first.returncode == 0, first.stderr
        before = (project / "requirements.txt").read_bytes(), (project / "pinwarden-ledger.toml").read_bytes()
        # 1.1: a wheel like 1.0's first, then one 394 days late
        index.add(
            NAME,
            "1.1",
            *build_wheel(NAME, "1.1", platform="manylinux1_x86_64"),
            upload_time="2020-02-01T00:00:00Z",
        )
        late = build_wheel(NAME, "1.1", extra_files={"pwindex_demo/evil.py": b"x = 1\n"})
        index.add(NAME, "1.1", *late, upload_time="2021-03-01T00:00:00Z")
        done = compile_(project, env, "-U")
    assert done.returncode == 1, done.stderr
    assert "late upload" in done.stderr.lower(), done.stderr
    assert (
        (project / "requirements.txt").read_bytes(),
        (project / "pinwarden-ledger.toml").read_bytes(),
    ) == before
    # The approve command names the index the run used (the configured one too where it stays primary).
    last = done.stderr.rstrip().splitlines()[-1]
    assert url in last, last
    assert (decoy_url in last) is place.startswith("--extra-index-url"), last
