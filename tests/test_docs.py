"""What the documentation promises: the JSON schema, the pre-commit hook, the README quick start."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pinwarden.cli import main
from pinwarden.shared.model import FindingKind

ROOT = Path(__file__).parents[1]
SCHEMA = json.loads((ROOT / "docs" / "findings.schema.json").read_text())


def test_schema_lists_exactly_the_finding_kinds() -> None:
    listed = set(SCHEMA["$defs"]["finding"]["properties"]["kind"]["enum"])
    assert listed == {kind.value for kind in FindingKind}


def test_check_json_output_follows_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    digest = {n: f"{n:x}".rjust(64, "0") for n in range(1, 9)}

    def lock(*files: tuple[str, int]) -> str:
        entries = "".join(f'    {{file = "{f}", hash = "sha256:{digest[n]}"}},\n' for f, n in files)
        return (
            f'[[package]]\nname = "demo"\nversion = "1.0"\ndescription = ""\noptional = false\n'
            f'python-versions = "*"\nfiles = [\n{entries}]\n\n'
            '[metadata]\nlock-version = "2.1"\npython-versions = "*"\ncontent-hash = "x"\n'
        )

    monkeypatch.chdir(tmp_path)
    (tmp_path / "poetry.lock").write_text(lock(("demo-1.0-py3-none-any.whl", 1), ("demo-1.0.tar.gz", 2)))
    assert main(["init"], io.StringIO(), io.StringIO()) == 0
    (tmp_path / "poetry.lock").write_text(lock(("demo-1.0-1-py3-none-any.whl", 3), ("demo-1.0.tar.gz", 4)))
    out = io.StringIO()
    assert main(["check", "--format", "json"], out, io.StringIO()) == 1
    document = json.loads(out.getvalue())
    jsonschema.validate(document, SCHEMA)
    assert {f["kind"] for f in document["findings"]} == {
        "new-file",
        "build-tag",
        "changed-file",
        "missing-file",
    }


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in quick.splitlines()[1:] if line.strip()]
    assert commands == ["make demo", "make test"]
    first_section = next(line for line in readme.splitlines() if line.startswith("## "))
    assert first_section == "## Quick start"


def test_pre_commit_hook_runs_pinwarden_check() -> None:
    yaml = pytest.importorskip("yaml")
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "pinwarden-check"
    assert hook["entry"] == "pinwarden check"
    assert hook["pass_filenames"] is False


def test_every_test_the_threat_model_cites_exists() -> None:
    """docs/security.md backs each claim with a test: a renamed or deleted test must not leave a claim
    without its proof. `::name` after a file refers to that file."""
    import re

    text = (ROOT / "docs" / "security.md").read_text()
    cited: list[tuple[str, str]] = []
    current = None
    for match in re.finditer(r"`(?:tests/)?(test_\w+\.py)?(?:::(\w+))?", text):
        file, name = match.groups()
        current = file or current
        if name:
            assert current is not None, name
            cited.append((current, name))
    assert len(cited) > 60
    missing = [f"{f}::{n}" for f, n in cited if f"def {n}(" not in (ROOT / "tests" / f).read_text()]
    assert not missing, missing
