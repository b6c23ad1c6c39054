"""Real locks: init then check passes; each kind of tampering gives exactly its finding, exit 1.

Runs on the locks copied into tests/data/locks, and on every lock of ../shared/corpus when present.
Tampering is done on the text, as a person or a tool would edit the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.cli_run import cli_run

from pinwarden.shared.filenames import belongs_to, parse_filename
from pinwarden.shared.locks import is_poetry_lock, parse_lock
from pinwarden.shared.model import LockedRelease, SourceKind

HERE = Path(__file__).parent
CORPUS = HERE.parents[1] / "shared" / "corpus" / "locks"
NEW_HEX = "e" * 63 + "f"
PROBE_HEX = "c" * 63 + "d"
PROBE_ENTRY = f'{{file = "pinwarden_probe-1.0.tar.gz", hash = "sha256:{PROBE_HEX}"}}'


def _lock_files() -> list[Path]:
    """The copies in tests/data always; the rest of the corpus when it is beside the project."""
    found = {p.name: p for p in (HERE / "data" / "locks").glob("*/*") if p.suffix in (".lock", ".txt")}
    if CORPUS.is_dir():
        for path in [*CORPUS.glob("*/*.lock"), *CORPUS.glob("*/*.txt")]:
            found.setdefault(path.name, path)
    return sorted(found.values(), key=lambda p: p.name)


LOCKS = _lock_files()


TEXT_LABEL = {
    "new-file": "NEW FILE",
    "changed-file": "CHANGED",
    "missing-file": "MISSING",
    "new-version": "NEW VERSION",
}


def run(cwd: Path, *argv: str) -> tuple[int, str]:
    code, out, err = cli_run(cwd, *argv)
    return code, out + err


@dataclass
class Target:
    """A release worth tampering with: several files from an index, a unique name."""

    release: LockedRelease
    hex: str  # the digest of its first file, found exactly once in the text


def pick_target(text: str, releases: tuple[LockedRelease, ...]) -> Target:
    names = [r.name for r in releases]
    for release in releases:
        if release.source_kind is not SourceKind.INDEX or names.count(release.name) != 1:
            continue
        if len(release.files) < 2 or not all(f.hash.algorithm == "sha256" for f in release.files):
            continue
        first = release.files[0]
        if first.filename is not None and belongs_to(first.filename, release.name, release.version):
            continue
        if text.count(first.hash.value) == 1:
            return Target(release, first.hash.value)
    raise AssertionError("no release to tamper with")


def probe_filename(release: LockedRelease) -> str:
    """A wheel for the target's own name and version that no index ever served."""
    named = next((f.filename for f in release.files if f.filename), None)
    dist = named.split("-")[0] if named else release.name.replace("-", "_")
    version = parse_filename(named).version if named else release.version
    return f"{dist}-{version}-py3-none-pinwardenprobe.whl"


def poetry_add_hash(text: str, t: Target) -> str:
    line = next(ln for ln in text.splitlines() if t.hex in ln)
    indent = line[: len(line) - len(line.lstrip())]
    extra = f'{indent}{{file = "{probe_filename(t.release)}", hash = "sha256:{NEW_HEX}"}},'
    return text.replace(line, f"{line}\n{extra}" if line.rstrip().endswith(",") else f"{line},\n{extra}", 1)


def poetry_remove_file(text: str, t: Target) -> str:
    return "\n".join(ln for ln in text.splitlines() if t.hex not in ln) + "\n"


def poetry_add_version(text: str) -> str:
    if "[metadata.files]" in text:  # lock-version 1.1 keeps the files under metadata
        package = (
            '[[package]]\nname = "pinwarden-probe"\nversion = "1.0"\ndescription = ""\noptional = false\n'
        )
        package += 'python-versions = "*"\n\n'
        text = text.replace("[metadata]", package + "[metadata]", 1)
        files = f"pinwarden-probe = [\n    {PROBE_ENTRY},\n]\n"
        return text.rstrip("\n") + "\n" + files
    package = '[[package]]\nname = "pinwarden-probe"\nversion = "1.0"\ndescription = ""\noptional = false\n'
    package += f'python-versions = "*"\nfiles = [\n    {PROBE_ENTRY},\n]\n\n'
    return text.replace("[metadata]", package + "[metadata]", 1)


def reqs_add_hash(text: str, t: Target) -> str:
    return text.replace(f"sha256:{t.hex}", f"sha256:{t.hex} \\\n    --hash=sha256:{NEW_HEX}", 1)


def reqs_remove_file(text: str, t: Target) -> str:
    # The first hash of a multi-hash pin always ends with a continuation: dropping its line is clean.
    return re.sub(rf"[ \t]*--hash[= ]sha256:{t.hex}[ \t]*\\\n", "", text, count=1)


def reqs_add_version(text: str) -> str:
    return text.rstrip("\n") + f"\npinwarden-probe==1.0 \\\n    --hash=sha256:{PROBE_HEX}\n"


def replace_hash(text: str, t: Target) -> str:
    return text.replace(t.hex, NEW_HEX, 1)


def expected(kind: str, t: Target, poetry: bool) -> list[tuple[str, str, str, str | None]]:
    name, version = t.release.name, t.release.version
    first = t.release.files[0].filename
    table = {
        "add-hash": [("new-file", name, version, probe_filename(t.release) if poetry else None)],
        "replace-hash": [("changed-file", name, version, first)]
        if poetry
        else [("new-file", name, version, None), ("missing-file", name, version, None)],
        "remove-file": [("missing-file", name, version, first)],
        "add-version": [("new-version", "pinwarden-probe", "1", None)],
    }
    return table[kind]


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_init_check_and_every_tampering(lock: Path, tmp_path: Path) -> None:
    name = "poetry.lock" if lock.suffix == ".lock" else "requirements.txt"
    text = lock.read_text(encoding="utf-8")
    target_file = tmp_path / name
    target_file.write_text(text, encoding="utf-8")
    assert run(tmp_path, "init", name)[0] == 0
    ledger_bytes = (tmp_path / "pinwarden-ledger.toml").read_bytes()
    code, output = run(tmp_path, "check", name)
    assert code == 0, output

    poetry = is_poetry_lock(name, text)
    target = pick_target(text, parse_lock(text, name).releases)
    edits = {
        "add-hash": poetry_add_hash(text, target) if poetry else reqs_add_hash(text, target),
        "replace-hash": replace_hash(text, target),
        "remove-file": poetry_remove_file(text, target) if poetry else reqs_remove_file(text, target),
        "add-version": poetry_add_version(text) if poetry else reqs_add_version(text),
    }
    for kind, edited in edits.items():
        target_file.write_text(edited, encoding="utf-8")
        code, output = run(tmp_path, "check", "--format", "json", name)
        assert code == 1, (kind, output)
        findings = json.loads(output)["findings"]
        got = [(f["kind"], f["project"], f["version"], f["filename"]) for f in findings]
        assert got == expected(kind, target, poetry), kind
        assert all(f["lockfile"] == name for f in findings)
        code, output = run(tmp_path, "check", name)
        assert code == 1
        for wanted in expected(kind, target, poetry):
            assert f"{wanted[1]} {wanted[2]}  ({name})" in output
            assert f"  {TEXT_LABEL[wanted[0]]:<11} {wanted[3] or ''}" in output, (kind, output)
            reason = ' --reason "WHY"' if wanted[0] == "changed-file" else ""  # issue 11
            assert output.rstrip().endswith(f"pinwarden approve {wanted[1]}=={wanted[2]} {name}{reason}")
    assert (tmp_path / "pinwarden-ledger.toml").read_bytes() == ledger_bytes, "check must never write"
