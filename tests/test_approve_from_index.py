"""`pinwarden approve NAME==VERSION --from-index [URL]`: trust what an index serves now, without a lock."""

from __future__ import annotations

import hashlib
import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, build_sdist, build_wheel

from pinwarden.cli import main

NAME = "pwdemo-alpha"
WHEEL = build_wheel(NAME, "1.0", marker="wheel")
SDIST = build_sdist(NAME, "1.0", marker="sdist")
REPLACED = build_sdist(NAME, "1.0", marker="replaced")[1]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")
    return tmp_path


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    index.add(NAME, "1.0", *WHEEL)
    index.add(NAME, "1.0", *SDIST)
    with index.serve():
        yield index


def approve(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["approve", *args], out, err)
    return code, out.getvalue(), err.getvalue()


def test_records_every_file_of_the_version(index: PackageIndex, in_tmp: Path) -> None:
    code, out, err = approve(f"{NAME}==1.0", "--from-index", index.url, "--reason", "checked upstream")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"pinwarden: {NAME}==1 on {index.url}:",
        f"  {WHEEL[0]}  {sha256(WHEEL[1])}",
        f"  {SDIST[0]}  {sha256(SDIST[1])}",
        f"pinwarden: {NAME}==1.0: first trusted; ledger {in_tmp / 'pinwarden-ledger.toml'}",
    ]
    ledger = (in_tmp / "pinwarden-ledger.toml").read_text()
    assert f'index = "{index.url}"' in ledger
    assert '{ how = "approval", at = "2026-05-28T20:26:40Z", reason = "checked upstream" }' in ledger
    assert f'{{ file = "{SDIST[0]}", hashes = ["{sha256(SDIST[1])}"] }}' in ledger


def test_a_changed_and_a_deleted_file_replace_the_trusted_state(index: PackageIndex, in_tmp: Path) -> None:
    approve(f"{NAME}==1.0", "--from-index", index.url)
    index.replace(NAME, SDIST[0], REPLACED)
    index.remove(NAME, WHEEL[0])
    before = (in_tmp / "pinwarden-ledger.toml").read_bytes()
    code, out, _ = approve("--from-index", index.url, f"{NAME}==1.0")
    # A swap is never a side effect of an approval: it needs --replace, and nothing is written.
    assert code == 1
    assert f"{SDIST[0]} is trusted as {sha256(SDIST[1])} but is served now as {sha256(REPLACED)}" in out
    assert (in_tmp / "pinwarden-ledger.toml").read_bytes() == before
    code, out, _ = approve("--from-index", index.url, f"{NAME}==1.0", "--replace", "--reason", "rebuilt")
    assert code == 0
    assert f"{NAME}==1.0: approved 2 change(s)" in out
    ledger = (in_tmp / "pinwarden-ledger.toml").read_text()
    assert f'{{ file = "{SDIST[0]}", hashes = ["{sha256(REPLACED)}"] }}' in ledger
    assert f'{{ file = "{WHEEL[0]}", hashes = ["{sha256(WHEEL[1])}"], vanished = true }}' in ledger


def test_without_a_url_the_requirements_files_index_is_used(index: PackageIndex, in_tmp: Path) -> None:
    hashes = f"--hash={sha256(WHEEL[1])}"
    (in_tmp / "requirements.txt").write_text(f"--index-url {index.url}\n\n{NAME}==1.0 {hashes}\n")
    # `--from-index` takes an optional URL, so it may swallow the NAME==VERSION after it: that still works.
    code, out, err = approve("--from-index", f"{NAME}==1.0")
    assert (code, err) == (0, "")
    assert out.startswith(f"pinwarden: {NAME}==1 on {index.url}:")


def test_the_ledger_goes_beside_the_named_lock(index: PackageIndex, in_tmp: Path) -> None:
    (in_tmp / "locks").mkdir()
    (in_tmp / "locks" / "req.txt").write_text(f"-i {index.url}\n{NAME}==1.0 --hash={sha256(WHEEL[1])}\n")
    code, _, err = approve(f"{NAME}==1.0", "locks/req.txt", "--from-index")
    assert (code, err) == (0, "")
    assert (in_tmp / "locks" / "pinwarden-ledger.toml").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([f"{NAME}==9.9", "--from-index", "{url}"], f"{NAME}==9.9: no files for this version on"),
        (["pwdemo-nothing==1.0", "--from-index", "{url}"], "no files for this version"),
        (["--from-index", "{url}"], "approve needs at least one NAME==VERSION"),
        ([f"{NAME}==1.0", "--from-index", "{dead}"], "cannot connect"),
    ],
)
def test_errors_are_one_line_and_write_nothing(
    index: PackageIndex, in_tmp: Path, args: list[str], message: str
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/simple/"
    code, _, err = approve(*(a.format(url=index.url, dead=dead) for a in args))
    assert code == 2
    assert err.startswith("pinwarden: error: ") and err.count("\n") == 1 and message in err, err
    assert not (in_tmp / "pinwarden-ledger.toml").exists()
