"""`pinwarden approve NAME==VERSION --from-index`: which indexes are asked, with which credentials,
and that the files are shown before anything is recorded."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, build_wheel
from tests.support.replay import ReplayIndex

from pinwarden.cli import main
from pinwarden.shared.store import LedgerStore

NAME = "pwdemo-alpha"
WHEEL = build_wheel(NAME, "1.0")
OTHER_WHEEL = build_wheel(NAME, "1.0", python_tag="cp311", abi="cp311", platform="win_amd64")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    for key in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "NETRC"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")
    return tmp_path


@pytest.fixture
def two_indexes() -> Iterator[tuple[PackageIndex, PackageIndex]]:
    """The same project on a private index and on a public one, with different files."""
    private, public = PackageIndex(), PackageIndex()
    private.add(NAME, "1.0", *WHEEL)
    public.add(NAME, "1.0", *OTHER_WHEEL)
    with private.serve(), public.serve():
        yield private, public


def approve(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["approve", *args], out, err)
    return code, out.getvalue(), err.getvalue()


def test_files_are_shown_before_anything_is_recorded(
    two_indexes: tuple[PackageIndex, PackageIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, _ = two_indexes
    shown_at_save: list[str] = []
    out = io.StringIO()
    original = LedgerStore.save

    def save(self: LedgerStore, ledger: object) -> bool:
        shown_at_save.append(out.getvalue())
        return original(self, ledger)  # type: ignore[arg-type]

    monkeypatch.setattr(LedgerStore, "save", save)
    assert main(["approve", f"{NAME}==1.0", "--from-index", private.url], out, io.StringIO()) == 0
    assert shown_at_save and f"  {WHEEL[0]}  sha256:" in shown_at_save[0]


def poetry_lock(private_url: str) -> str:
    digest = hashlib.sha256(WHEEL[1]).hexdigest()
    return (
        f'[[package]]\nname = "{NAME}"\nversion = "0.9"\ndescription = ""\noptional = false\n'
        f'python-versions = "*"\nfiles = [\n    {{file = "x-0.9.tar.gz", hash = "sha256:{digest}"}},\n]\n\n'
        f'[package.source]\ntype = "legacy"\nurl = "{private_url}"\nreference = "private"\n\n'
        '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
    )


def test_the_source_poetry_lock_names_for_the_project_is_asked(
    two_indexes: tuple[PackageIndex, PackageIndex], isolated: Path
) -> None:
    """Never PyPI's files for a project the lock takes from a private source (dependency confusion)."""
    private, public = two_indexes
    (isolated / "poetry.lock").write_text(poetry_lock(private.url))
    code, out, err = approve(f"{NAME}==1.0", "--from-index")
    assert (code, err) == (0, "")
    assert out.startswith(f"pinwarden: {NAME}==1 on {private.url}:\n  {WHEEL[0]}")
    assert public.requests == []


def test_poetry_sources_in_search_order_when_no_lock_pins_it(
    two_indexes: tuple[PackageIndex, PackageIndex], isolated: Path
) -> None:
    private, public = two_indexes
    (isolated / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\n\n'
        f'[[tool.poetry.source]]\nname = "extra"\nurl = "{public.url}"\npriority = "supplemental"\n\n'
        f'[[tool.poetry.source]]\nname = "private"\nurl = "{private.url}"\npriority = "primary"\n\n'
        f'[[tool.poetry.source]]\nname = "never"\nurl = "http://127.0.0.1:9/simple/"\npriority = "explicit"\n'
    )
    code, out, err = approve(f"{NAME}==1.0", "--from-index")
    assert (code, err) == (0, "")
    assert out.startswith(f"pinwarden: {NAME}==1 on {private.url}, {public.url}:")
    assert f"  {WHEEL[0]}" in out and f"  {OTHER_WHEEL[0]}" in out


def test_pip_configuration_when_nothing_else_names_an_index(
    two_indexes: tuple[PackageIndex, PackageIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = two_indexes
    monkeypatch.setenv("PIP_INDEX_URL", private.url)
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", public.url)
    code, out, err = approve(f"{NAME}==1.0", "--from-index")
    assert (code, err) == (0, "")
    assert out.startswith(f"pinwarden: {NAME}==1 on {private.url}, {public.url}:")


def test_credentials_in_the_url_are_used_and_never_recorded(isolated: Path) -> None:
    digest = hashlib.sha256(WHEEL[1]).hexdigest()
    page = {
        "meta": {"api-version": "1.1"},
        "name": NAME,
        "files": [
            {
                "filename": WHEEL[0],
                "url": f"../../files/{WHEEL[0]}",
                "hashes": {"sha256": digest},
                "yanked": False,
            }
        ],
    }
    private = ReplayIndex({NAME: page}, {WHEEL[0]: WHEEL[1]})  # downloaded too: with the credentials
    private.credentials = ("reader", "s3cret")
    with private.serve():
        url = private.url.replace("http://", "http://reader:s3cret@")
        code, out, err = approve(f"{NAME}==1.0", "--from-index", url)
    assert (code, err) == (0, "")
    assert "reader:****@127.0.0.1" in out and "s3cret" not in out
    assert "s3cret" not in (isolated / "pinwarden-ledger.toml").read_text()
