"""Issue 10, class 4: nothing unguarded passes quietly.

With no lock named, `check` (and init, audit, approve) read every requirements file they find as a
lock: one that pins without hashes (stripped, partly hashed, only `-e` and unhashed pins, an include)
stops the command with one `pinwarden: error:` line naming it, exit 2, never exit 0. Files that are
not locks are listed in `[tool.pinwarden] exclude` (globs relative to the project).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pinwarden.cli import main
from pinwarden.shared.config import parse_settings
from pinwarden.shared.errors import InputError

HEX = {n: f"{n:x}".rjust(64, "0") for n in range(1, 10)}
HASHED = f"demo==1.0 \\\n    --hash=sha256:{HEX[1]}\n"
POETRY_LOCK = (
    '[[package]]\nname = "other"\nversion = "2.0"\ndescription = ""\noptional = false\n'
    f'python-versions = "*"\nfiles = [\n    {{file = "other-2.0.tar.gz", hash = "sha256:{HEX[3]}"}},\n]\n'
    '\n[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
)

# Where a requirements lock may live, and the shapes of an unguarded one.
PLACES = [
    "requirements.txt",
    "requirements-dev.txt",
    "dev-requirements.txt",
    "test_requirements.txt",
    "constraints.txt",
    "requirements/prod.txt",
    "requirements/sub/ci.txt",
    "requirements.d/extra.txt",
]
UNGUARDED = {
    "stripped": "demo==1.0\nother==2.0\n",
    "partial": f"demo==1.0 --hash=sha256:{HEX[1]}\nother==2.0\n",
    "continued-comment": f"demo==1.0 # --hash=sha256:{HEX[1]} \\\n    --hash=sha256:{HEX[2]}\n",
    "editable-and-pin": "-e ./local\nDemo_Pkg==1.0 ; python_version > '3'\n",
    "ranges": "demo>=1\n",
    "include": "-r base.txt\n",
    "constraint": "-c constraints.in\n",
    "vcs-editable": "-e git+https://example.org/r.git#egg=r\n",
    "crlf-stripped": "demo==1.0\r\n",
    "bom-stripped": "\ufeffdemo==1.0\n",
}


def run(cwd: Path, *argv: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())  # a leading U+FEFF is written as the UTF-8 BOM


def one_error_line(err: str, *words: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pinwarden: error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], err


@pytest.fixture
def trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose poetry.lock and hashed requirements.txt are trusted."""
    (tmp_path / "poetry.lock").write_text(POETRY_LOCK)
    write(tmp_path / "requirements.txt", HASHED)
    code, _, err = run(tmp_path, "init", monkeypatch=monkeypatch)
    assert code == 0, err
    assert run(tmp_path, "check", monkeypatch=monkeypatch)[0] == 0
    return tmp_path


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("shape", sorted(UNGUARDED))
def test_check_never_passes_an_unguarded_requirements_file(
    trusted: Path, monkeypatch: pytest.MonkeyPatch, place: str, shape: str
) -> None:
    write(trusted / place, UNGUARDED[shape])
    code, out, err = run(trusted, "check", monkeypatch=monkeypatch)
    assert code == 2, (out, err)
    one_error_line(err, place, "exclude")
    assert out == ""


@pytest.mark.parametrize("command", ["init", "check", "audit", "approve demo==1.0"])
def test_every_command_that_discovers_locks_refuses(
    trusted: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    write(trusted / "requirements-dev.txt", UNGUARDED["stripped"])
    ledger = (trusted / "pinwarden-ledger.toml").read_bytes()
    code, _, err = run(trusted, *command.split(), monkeypatch=monkeypatch)
    assert code == 2
    one_error_line(err, "requirements-dev.txt", "no --hash")
    assert (trusted / "pinwarden-ledger.toml").read_bytes() == ledger


def test_hashes_stripped_from_the_only_requirements_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's example: poetry.lock is guarded, requirements.txt loses its hashes."""
    (tmp_path / "poetry.lock").write_text(POETRY_LOCK)
    write(tmp_path / "requirements.txt", HASHED)
    assert run(tmp_path, "init", monkeypatch=monkeypatch)[0] == 0
    write(tmp_path / "requirements.txt", "demo==1.0\n")
    code, _, err = run(tmp_path, "check", monkeypatch=monkeypatch)
    assert code == 2
    one_error_line(err, "requirements.txt", "no --hash in the whole file", "pip installs whatever")


@pytest.mark.parametrize(
    ("patterns", "place"),
    [
        (["requirements-plain.txt"], "requirements-plain.txt"),
        (["*-plain.txt"], "requirements-plain.txt"),
        (["requirements/*"], "requirements/docs.txt"),
        (["requirements/**"], "requirements/a/b.txt"),
        (["requirements/docs.txt", "other"], "requirements/docs.txt"),
        (["constraints.txt"], "constraints.txt"),
    ],
)
def test_exclude_skips_files_that_are_not_locks(
    trusted: Path, monkeypatch: pytest.MonkeyPatch, patterns: list[str], place: str
) -> None:
    write(trusted / place, UNGUARDED["ranges"])
    assert run(trusted, "check", monkeypatch=monkeypatch)[0] == 2
    quoted = ", ".join(f'"{p}"' for p in patterns)
    (trusted / "pyproject.toml").write_text(f"[tool.pinwarden]\nexclude = [{quoted}]\n")
    code, out, err = run(trusted, "check", monkeypatch=monkeypatch)
    assert code == 0, err
    assert "2 locked versions, all trusted" in out
    # Naming the file still reads it: exclude is for discovery only.
    code, _, err = run(trusted, "check", place, monkeypatch=monkeypatch)
    assert code == 2
    one_error_line(err, place)


def test_exclude_does_not_hide_a_lock_it_does_not_match(
    trusted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (trusted / "pyproject.toml").write_text('[tool.pinwarden]\nexclude = ["docs/*.txt", "requirements-d*"]\n')
    write(trusted / "requirements/dev.txt", UNGUARDED["partial"])
    code, _, err = run(trusted, "check", monkeypatch=monkeypatch)
    assert code == 2
    one_error_line(err, "requirements/dev.txt")


def test_discovered_hashed_files_in_every_place_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n, place in enumerate(PLACES, start=1):
        write(tmp_path / place, f"pkg{n}==1.0 --hash=sha256:{HEX[n % 9 + 1]}\n")
    write(tmp_path / "requirements.in", "pkg1\n")  # a pip-compile input is no lock
    write(tmp_path / "notes.txt", "pkg1\n")
    code, out, err = run(tmp_path, "init", monkeypatch=monkeypatch)
    assert code == 0, err
    assert f"trusted {len(PLACES)} new versions" in out
    assert run(tmp_path, "check", monkeypatch=monkeypatch)[0] == 0
    # One ledger, in the project directory, whichever file sorts first.
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("pinwarden-ledger.toml")] == [
        "pinwarden-ledger.toml"
    ]


def test_locks_only_in_a_requirements_directory_share_the_project_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "requirements/prod.txt", HASHED)
    code, _, err = run(tmp_path, "init", monkeypatch=monkeypatch)
    assert code == 0, err
    assert (tmp_path / "pinwarden-ledger.toml").is_file()
    assert not (tmp_path / "requirements" / "pinwarden-ledger.toml").exists()
    write(tmp_path / "requirements/prod.txt", HASHED.replace(HEX[1], HEX[2]))
    assert run(tmp_path, "check", monkeypatch=monkeypatch)[0] == 1  # a changed hash: a finding


@pytest.mark.parametrize(
    "value",
    ['"requirements.txt"', "[1]", '[""]', '["/etc/x.txt"]', '["../x.txt"]', "{a = 1}", '["a\\u0000"]'],
)
def test_malformed_exclude_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    text = f"[tool.pinwarden]\nexclude = {value}\n"
    with pytest.raises(InputError, match=r"tool\.pinwarden\.exclude"):
        parse_settings(text)
    (tmp_path / "pyproject.toml").write_text(text)
    (tmp_path / "poetry.lock").write_text(POETRY_LOCK)
    code, _, err = run(tmp_path, "check", monkeypatch=monkeypatch)
    assert code == 2
    one_error_line(err, "exclude")


def test_exclude_setting_reads_a_list() -> None:
    settings = parse_settings('[tool.pinwarden]\nexclude = ["docs/*.txt", "requirements-*.txt"]\n')
    assert settings.exclude == ("docs/*.txt", "requirements-*.txt")
    assert parse_settings("[tool.pinwarden]\n").exclude == ()
