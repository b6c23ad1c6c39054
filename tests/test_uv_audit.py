"""`audit` on a uv.lock asks each package's own registry (the one the lock names), and nothing else.

Two local indexes; the lock pins one project from each. No uv needed: the lock is written as uv
writes it (registry source, file URLs, sizes, upload times).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.cli_run import cli_run
from tests.support.index import PackageIndex, build_wheel

ALPHA = build_wheel("pwuv-alpha", "1.0")
BETA = build_wheel("pwuv-beta", "1.0")
OTHER_BETA = build_wheel("pwuv-beta", "1.0", marker="rebuilt")
UPLOADED = "2026-01-05T10:00:00Z"


@pytest.fixture
def indexes() -> Iterator[tuple[PackageIndex, PackageIndex]]:
    a, b = PackageIndex(), PackageIndex()
    a.add("pwuv-alpha", "1.0", *ALPHA, upload_time=UPLOADED)
    b.add("pwuv-beta", "1.0", *BETA, upload_time=UPLOADED)
    with a.serve(), b.serve():
        yield a, b


def _package(name: str, index: PackageIndex, wheel: tuple[str, bytes]) -> str:
    registry = index.url.rstrip("/")  # uv writes the index URL without its trailing slash
    base = index.url.removesuffix("simple/")
    digest = hashlib.sha256(wheel[1]).hexdigest()
    return (
        f'[[package]]\nname = "{name}"\nversion = "1.0"\nsource = {{ registry = "{registry}" }}\n'
        f'wheels = [\n    {{ url = "{base}files/{name}/{wheel[0]}", hash = "sha256:{digest}", '
        f'size = {len(wheel[1])}, upload-time = "{UPLOADED}" }},\n]\n'
    )


def uv_lock(a: PackageIndex, b: PackageIndex) -> str:
    head = 'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n'
    return head + _package("pwuv-alpha", a, ALPHA) + "\n" + _package("pwuv-beta", b, BETA)


def run(cwd: Path, *argv: str) -> tuple[int, str]:
    code, out, err = cli_run(cwd, *argv)
    return code, out + err


def test_audit_asks_each_package_its_own_registry(
    indexes: tuple[PackageIndex, PackageIndex], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PINWARDEN_CACHE_DIR", str(tmp_path / "cache"))
    a, b = indexes
    (tmp_path / "uv.lock").write_text(uv_lock(a, b))
    assert run(tmp_path, "init")[0] == 0
    assert run(tmp_path, "check")[0] == 0
    code, output = run(tmp_path, "audit", "--no-cache")
    assert code == 0, output
    assert [p for p in a.requests if p.startswith("/simple/")] == ["/simple/pwuv-alpha/"]
    assert [p for p in b.requests if p.startswith("/simple/")] == ["/simple/pwuv-beta/"]

    # The registry serves other bytes under the trusted name: the audit of that index says so.
    b.replace("pwuv-beta", BETA[0], OTHER_BETA[1])
    code, output = run(tmp_path, "audit", "--no-cache", "--format", "json")
    assert code == 1, output
    got = [(f["kind"], f["project"], f["filename"]) for f in json.loads(output)["findings"]]
    assert got == [("changed-file", "pwuv-beta", BETA[0])]
