"""The `pinwarden` command line, in process: verbs, output, exit codes, ledger location."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pinwarden.cli import main

HEX = {n: f"{n:x}".rjust(64, "0") for n in range(1, 20)}


def lock_text(*packages: tuple[str, str, list[tuple[str, int]]]) -> str:
    blocks = []
    for name, version, files in packages:
        entries = "".join(f'    {{file = "{f}", hash = "sha256:{HEX[n]}"}},\n' for f, n in files)
        blocks.append(
            f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = ""\noptional = false\n'
            f'python-versions = "*"\nfiles = [\n{entries}]\n'
        )
    return (
        "\n".join(blocks)
        + '\n[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
    )


DEMO = ("demo", "1.0", [("demo-1.0-py3-none-any.whl", 1), ("demo-1.0.tar.gz", 2)])
OTHER = ("other", "2.0", [("other-2.0.tar.gz", 3)])


def run(cwd: Path, *argv: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "poetry.lock").write_text(lock_text(DEMO, OTHER))
    assert run(tmp_path, "init", monkeypatch=monkeypatch)[0] == 0
    return tmp_path


def test_init_discovers_poetry_lock_and_writes_ledger(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = (project / "pinwarden-ledger.toml").read_text()
    assert '[projects.demo."1"]' in ledger and '[projects.other."2"]' in ledger
    assert 'how = "init"' in ledger
    code, out, _ = run(project, "check", monkeypatch=monkeypatch)
    assert code == 0
    assert "2 locked versions, all trusted" in out


def test_init_twice_is_idempotent(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (project / "pinwarden-ledger.toml").read_bytes()
    code, out, _ = run(project, "init", monkeypatch=monkeypatch)
    assert code == 0 and "trusted 0 new versions" in out
    assert (project / "pinwarden-ledger.toml").read_bytes() == before


def test_init_never_overrides_existing_trust(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (project / "pinwarden-ledger.toml").read_bytes()
    changed = ("demo", "1.0", [("demo-1.0-py3-none-any.whl", 1), ("demo-1.0.tar.gz", 9)])
    (project / "poetry.lock").write_text(lock_text(changed, OTHER))
    code, out, _ = run(project, "init", monkeypatch=monkeypatch)
    assert code == 1
    assert "never overrides" in out and out.endswith('\n  pinwarden approve demo==1 --reason "WHY"\n')
    assert (project / "pinwarden-ledger.toml").read_bytes() == before


def test_check_text_report_says_what_and_what_next(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tagged = (
        "demo",
        "1.0",
        [("demo-1.0-py3-none-any.whl", 1), ("demo-1.0.tar.gz", 9), ("demo-1.0-1-py3-none-any.whl", 4)],
    )
    (project / "poetry.lock").write_text(lock_text(tagged, OTHER))
    code, out, err = run(project, "check", monkeypatch=monkeypatch)
    assert code == 1 and err == ""
    assert "WARNING: THE CONTENT OF A TRUSTED FILE HAS CHANGED!" in out
    assert f"trusted sha256:{HEX[2]}" in out and f"locked  sha256:{HEX[9]}" in out
    assert "build tag 1" in out
    assert out.rstrip().endswith('pinwarden approve demo==1 --reason "WHY"')


def test_check_json_has_the_documented_fields(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "poetry.lock").write_text(
        lock_text(("demo", "1.0", [("demo-1.0-py3-none-any.whl", 1)]), OTHER)
    )
    code, out, _ = run(project, "check", "--format", "json", monkeypatch=monkeypatch)
    assert code == 1
    (finding,) = json.loads(out)["findings"]
    assert set(finding) >= {"kind", "project", "version", "filename", "hash", "trusted_hash", "lockfile"}
    assert finding["kind"] == "missing-file" and finding["hash"] is None
    assert finding["trusted_hash"] == f"sha256:{HEX[2]}"


def test_approve_records_reason_and_check_passes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    newer = (
        "demo",
        "1.0",
        [("demo-1.0-py3-none-any.whl", 1), ("demo-1.0.tar.gz", 2), ("demo-1.0-cp311-cp311-win_amd64.whl", 5)],
    )
    (project / "poetry.lock").write_text(lock_text(newer, OTHER))
    code, out, _ = run(project, "approve", "demo==1.0", "--reason", "windows wheel", monkeypatch=monkeypatch)
    assert code == 0
    assert "approved 1 change(s)" in out and "demo-1.0-cp311-cp311-win_amd64.whl" in out
    ledger = (project / "pinwarden-ledger.toml").read_text()
    assert 'how = "approval"' in ledger and 'reason = "windows wheel"' in ledger
    assert run(project, "check", monkeypatch=monkeypatch)[0] == 0


def test_upgrade_keeps_the_old_version_and_a_downgrade_is_checked(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "poetry.lock").write_text(lock_text(("demo", "1.1", [("demo-1.1.tar.gz", 6)]), OTHER))
    assert run(project, "approve", "demo==1.1", monkeypatch=monkeypatch)[0] == 0
    ledger = (project / "pinwarden-ledger.toml").read_text()
    assert '[projects.demo."1"]' in ledger and '[projects.demo."1.1"]' in ledger
    (project / "poetry.lock").write_text(lock_text(("demo", "1.0", [("demo-1.0.tar.gz", 7)]), OTHER))
    code, out, _ = run(project, "check", "--format", "json", monkeypatch=monkeypatch)
    kinds = sorted(f["kind"] for f in json.loads(out)["findings"])
    assert code == 1 and kinds == ["changed-file", "missing-file"]


def test_approve_of_an_unpinned_version_is_an_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (project / "pinwarden-ledger.toml").read_bytes()
    code, out, err = run(project, "approve", "demo==9.9", monkeypatch=monkeypatch)
    assert code == 2 and out == ""
    assert err.startswith("pinwarden: error: demo==9.9 is not pinned in poetry.lock") and err.count("\n") == 1
    assert (project / "pinwarden-ledger.toml").read_bytes() == before


def test_show_lists_trust_in_text_and_json(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(project, "show", "demo", monkeypatch=monkeypatch)
    assert code == 0 and out.startswith("demo 1  [init ")
    assert "other" not in out
    code, out, _ = run(project, "show", "--format", "json", monkeypatch=monkeypatch)
    releases = json.loads(out)["releases"]
    assert [(r["project"], r["version"]) for r in releases] == [("demo", "1"), ("other", "2")]
    assert run(project, "show", "nothing-here", monkeypatch=monkeypatch)[0] == 2


def test_check_without_ledger_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "poetry.lock").write_text(lock_text(DEMO))
    code, _, err = run(tmp_path, "check", monkeypatch=monkeypatch)
    assert code == 2 and "run 'pinwarden init'" in err
    assert not (tmp_path / "pinwarden-ledger.toml").exists()


def test_no_lock_anywhere_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(tmp_path, "init", monkeypatch=monkeypatch)
    assert code == 2 and "name the lock files" in err
    assert list(tmp_path.iterdir()) == []


def test_requirements_files_with_hashes_are_discovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "requirements.txt").write_text(f"demo==1.0 \\\n    --hash=sha256:{HEX[1]}\n")
    (tmp_path / "requirements-dev.txt").write_text(f"other==2.0 --hash=sha256:{HEX[3]}\n")
    (tmp_path / "requirements-plain.txt").write_text("other>=1\n")  # no hashes: refused unless excluded
    code, _, err = run(tmp_path, "init", monkeypatch=monkeypatch)
    assert code == 2 and "requirements-plain.txt" in err and "exclude" in err
    (tmp_path / "pyproject.toml").write_text('[tool.pinwarden]\nexclude = ["requirements-plain.txt"]\n')
    code, out, _ = run(tmp_path, "init", monkeypatch=monkeypatch)
    assert code == 0 and "requirements-dev.txt, requirements.txt" in out
    assert run(tmp_path, "check", monkeypatch=monkeypatch)[0] == 0


def test_ledger_option_and_pyproject_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "poetry.lock").write_text(lock_text(DEMO))
    assert run(tmp_path, "init", "--ledger", "elsewhere.toml", monkeypatch=monkeypatch)[0] == 0
    assert (tmp_path / "elsewhere.toml").is_file() and not (tmp_path / "pinwarden-ledger.toml").exists()
    (tmp_path / "security").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.pinwarden]\nledger = "security/trust.toml"\n')
    assert run(tmp_path, "init", monkeypatch=monkeypatch)[0] == 0
    assert (tmp_path / "security" / "trust.toml").is_file()
    assert run(tmp_path, "check", monkeypatch=monkeypatch)[0] == 0


def test_one_ledger_covers_several_lock_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "poetry.lock").write_text(lock_text(DEMO))
    (tmp_path / "requirements.txt").write_text(
        f"demo==1.0 --hash=sha256:{HEX[1]} --hash=sha256:{HEX[2]}\nother==2.0 --hash=sha256:{HEX[3]}\n"
    )
    assert run(tmp_path, "init", monkeypatch=monkeypatch)[0] == 0
    assert run(tmp_path, "check", monkeypatch=monkeypatch)[0] == 0
    assert run(tmp_path, "check", "requirements.txt", monkeypatch=monkeypatch)[0] == 0
    (tmp_path / "requirements.txt").write_text(f"demo==1.0 --hash=sha256:{HEX[1]} --hash=sha256:{HEX[8]}\n")
    code, out, _ = run(tmp_path, "check", "requirements.txt", "--format", "json", monkeypatch=monkeypatch)
    assert code == 1
    assert {f["kind"] for f in json.loads(out)["findings"]} == {"new-file", "missing-file"}


def test_importing_the_cli_imports_neither_poetry_nor_pip() -> None:
    code = (
        "import sys, pinwarden.cli; "
        "print([m for m in sys.modules if m.split('.')[0] in ('poetry', 'pip', 'piptools', 'cleo')])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_version_and_help_exit_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pinwarden", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("pinwarden ")
