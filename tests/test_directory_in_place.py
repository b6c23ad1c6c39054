"""A local directory in place of a project the ledger trusts from hashed files (round 12, finds 04
and 05): whatever version the lock gives it (none, when its metadata is dynamic; another; a
placeholder), it installs instead of the trusted bytes and no hash pins it, so it is never passed as
"the project's own code". A project never trusted from anywhere else still is."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from tests.test_one_ledger_all_formats import UV

from pinwarden.cli import main
from pinwarden.shared.compare import compare
from pinwarden.shared.ledger import Ledger
from pinwarden.shared.locks.pylock import parse_pylock
from pinwarden.shared.locks.uv_lock import parse_uv_lock
from pinwarden.shared.model import FindingKind

_HEAD = 'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n'


def _uv_directory(kind: str, version: str | None) -> str:
    line = f'version = "{version}"\n' if version is not None else ""
    return f'\n[[package]]\nname = "Colorama"\n{line}source = {{ {kind} = "vendor/colorama" }}\n'


def _pylock_directory(version: str | None, name: str = "colorama") -> str:
    line = f'version = "{version}"\n' if version is not None else ""
    return (
        'lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\n'
        f'name = "{name}"\n{line}directory = {{ path = "vendor/colorama" }}\n'
    )


def _run(argv: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.chdir(cwd)
    code = main(argv, out, err)
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose ledger trusts colorama 0.4.6 from PyPI (wheel and sdist)."""
    (tmp_path / "uv.lock").write_text(UV)
    code, text = _run(["init", "uv.lock"], tmp_path, monkeypatch)
    assert code == 0, text
    return tmp_path


@pytest.mark.parametrize("kind", ["directory", "editable", "virtual"])
@pytest.mark.parametrize("version", [None, "0.4.7", "0.4.6.dev0", "1!0.1", "0.4.5"])
def test_a_uv_lock_directory_for_a_trusted_project_is_a_finding(
    trusted: Path, kind: str, version: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = trusted / "uv.lock"
    lock.write_text(_HEAD + _uv_directory(kind, version))
    code, text = _run(["check", "uv.lock"], trusted, monkeypatch)
    assert code == 1, text
    assert "a local directory that no hash pins, in place of the trusted 0.4.6" in text


@pytest.mark.parametrize("version", [None, "0.4.7", "0.4.5"])
@pytest.mark.parametrize("name", ["colorama"])  # pip refuses other spellings in pylock
def test_a_pylock_directory_for_a_trusted_project_is_a_finding(
    trusted: Path, version: str | None, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (trusted / "pylock.toml").write_text(_pylock_directory(version, name))
    code, text = _run(["check", "pylock.toml"], trusted, monkeypatch)
    assert code == 1, text
    assert "in place of the trusted 0.4.6" in text


def test_the_same_version_as_a_directory_is_a_changed_source(
    trusted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (trusted / "uv.lock").write_text(_HEAD + _uv_directory("directory", "0.4.6"))
    code, text = _run(["check", "uv.lock"], trusted, monkeypatch)
    assert code == 1 and "now a local directory" in text, text


def test_a_directory_for_a_project_never_trusted_elsewhere_is_its_own_code() -> None:
    lock = parse_uv_lock(_HEAD + _uv_directory("editable", None).replace("Colorama", "my-app"), "uv.lock")
    assert compare(Ledger(), lock.releases) == ()
    pylock = parse_pylock(_pylock_directory(None, "my-app"), "pylock.toml")
    assert compare(Ledger(), pylock.releases) == ()


def test_both_readers_key_a_versionless_directory_alike() -> None:
    uv = parse_uv_lock(_HEAD + _uv_directory("directory", None), "uv.lock").releases
    py = parse_pylock(_pylock_directory(None), "pylock.toml").releases
    assert [(r.name, r.version) for r in uv] == [(r.name, r.version) for r in py]
    kinds = {f.kind for f in compare(Ledger(), uv)}
    assert FindingKind.NEW_VERSION not in kinds  # nothing trusted: no finding at all
