"""Real uv.lock and pylock.toml files: init then check is clean; each tampering gives exactly its finding.

Runs on the corpus copies in tests/data/uv-locks and tests/data/pylock. Tampering is done on the
parsed TOML (tomlkit keeps the rest of the text as it was), as a pull request would edit the file.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from tests.support.cli_run import cli_run

from pinwarden.shared.filenames import parse_filename
from pinwarden.shared.locks import parse_lock
from pinwarden.shared.model import LockedRelease, SourceKind, canonical_version

HERE = Path(__file__).parent
NEW_HEX = "e" * 63 + "f"
UV_LOCKS = sorted((HERE / "data" / "uv-locks").glob("*.lock"))
PYLOCKS = sorted((HERE / "data" / "pylock").glob("*.toml"))
CORPUS = [*UV_LOCKS, *PYLOCKS]
# tomlkit takes about a second per 400 kB: the tampering runs on the locks below this size.
EDITABLE = 500_000


def lock_name(path: Path) -> str:
    return "uv.lock" if path.suffix == ".lock" else "pylock.toml"


def run(cwd: Path, *argv: str) -> tuple[int, str, str]:
    return cli_run(cwd, *argv)


def findings(cwd: Path) -> tuple[int, list[tuple[str, str, str, str | None]]]:
    code, out, _ = run(cwd, "check", "--format", "json")
    return code, [(f["kind"], f["project"], f["version"], f["filename"]) for f in json.loads(out)["findings"]]


@pytest.mark.parametrize("lock", CORPUS, ids=lambda p: p.name)
def test_init_then_check_is_clean_and_discovered(lock: Path, tmp_path: Path) -> None:
    """No lock named: uv.lock and pylock.toml are found in the project directory."""
    (tmp_path / lock_name(lock)).write_bytes(lock.read_bytes())
    code, out, err = run(tmp_path, "init")
    assert code == 0, out + err
    assert f"from {lock_name(lock)}" in out
    code, out, err = run(tmp_path, "check")
    assert code == 0, out + err
    assert "all trusted and complete" in out


# ---------------------------------------------------------------------------------------------
# tampering


@dataclass
class Target:
    release: LockedRelease
    package: Any  # the tomlkit table of the package


def _files(package: Any) -> list[Any]:
    sdist = [package["sdist"]] if "sdist" in package else []
    return [*sdist, *package.get("wheels", [])]


def _set_hash(entry: Any, hex_digest: str) -> None:
    if "hash" in entry:  # uv.lock
        entry["hash"] = f"sha256:{hex_digest}"
    else:  # pylock.toml
        entry["hashes"]["sha256"] = hex_digest


def pick_target(doc: Any, text: str, name: str) -> Target:
    releases = parse_lock(text, name).releases
    names = [r.name for r in releases]
    packages = doc["package"] if "package" in doc else doc["packages"]
    # Several files where the lock has such a release (a file can then be removed), else one.
    ordered = sorted(releases, key=lambda r: len(r.files) < 2)
    for release in ordered:
        if release.source_kind is not SourceKind.INDEX or names.count(release.name) != 1:
            continue
        if not release.files or not all(f.url and f.hash.algorithm == "sha256" for f in release.files):
            continue
        if any(parse_filename(f.filename or "").build_tag for f in release.files):
            continue
        package = next(p for p in packages if p["name"] == release.name or p["name"] == release.locked_as)
        if package.get("wheels") and all(f.hash.value in text for f in release.files):
            return Target(release, package)
    raise AssertionError("no release to tamper with")


def probe_filename(release: LockedRelease) -> str:
    named = next(f.filename for f in release.files if f.filename)
    dist = named.split("-")[0]
    return f"{dist}-{parse_filename(named).version}-py3-none-pinwardenprobe.whl"


def add_file(t: Target, late: bool = False) -> None:
    entry = copy.deepcopy(t.package["wheels"][0].unwrap())
    probe = probe_filename(t.release)
    entry["url"] = entry["url"].rsplit("/", 1)[0] + "/" + probe
    if "name" in entry:
        entry["name"] = probe
    _set_hash(entry, NEW_HEX)
    if late:
        entry["upload-time"] = (
            "2099-01-01T00:00:00Z"
            if isinstance(entry["upload-time"], str)
            else (entry["upload-time"].replace(year=2099))
        )
    t.package["wheels"].append(entry)


def replace_hash(t: Target) -> None:
    _set_hash(_files(t.package)[0], NEW_HEX)


def remove_file(t: Target) -> None:
    wheels = t.package["wheels"]
    del wheels[len(wheels) - 1]


def foreign_host(t: Target) -> None:
    entry = _files(t.package)[0]
    scheme, _, rest = str(entry["url"]).partition("://")
    host, _, path = rest.partition("/")
    entry["url"] = f"{scheme}://{host}.evil.example/{path}"


def respell_version(t: Target) -> None:
    t.package["version"] = str(t.package["version"]) + ".0"


def respell_version_and_files(t: Target) -> None:
    """The version and every file name spelled `X.0` (`4.10.0.0`): the same PEP 440 version, the
    same files to an installer."""
    old = str(t.package["version"])
    respell_version(t)
    for entry in _files(t.package):
        for key in ("url", "name"):
            if key in entry:
                head, _, filename = str(entry[key]).rpartition("/")
                dist, sep, rest = filename.partition(f"-{old}")
                entry[key] = (f"{head}/" if head else "") + dist + sep + ".0" + rest if sep else entry[key]


def lie_about_size(t: Target) -> None:
    entry = _files(t.package)[0]
    entry["size"] = int(entry["size"]) + 1


def _first(t: Target) -> str | None:
    entry = _files(t.package)[0]
    return str(entry.get("name") or str(entry["url"]).rsplit("/", 1)[1])


def _last_wheel(t: Target) -> str:
    wheels = [f.filename for f in t.release.files if (f.filename or "").endswith(".whl")]
    entry = t.package["wheels"][len(t.package["wheels"]) - 1]
    return str(entry.get("name") or str(entry["url"]).rsplit("/", 1)[1]) if entry else wheels[-1]


Edit = Callable[[Target], None]
EDITS: dict[str, tuple[Edit, Callable[[Target], list[tuple[str, str | None]]]]] = {
    "add-file": (add_file, lambda t: [("new-file", probe_filename(t.release))]),
    "replace-hash": (replace_hash, lambda t: [("changed-file", _first(t))]),
    "remove-file": (remove_file, lambda t: [("missing-file", _last_wheel(t))]),
    "foreign-host": (foreign_host, lambda t: [("foreign-host", _first(t))]),
    "respell-version": (respell_version, lambda t: []),
    "respell-files": (respell_version_and_files, lambda t: []),
}


def _editable() -> list[Path]:
    return [p for p in CORPUS if p.stat().st_size < EDITABLE]


@pytest.mark.parametrize("lock", _editable(), ids=lambda p: p.name)
@pytest.mark.parametrize("kind", list(EDITS))
def test_each_tampering_gives_exactly_its_finding(lock: Path, kind: str, tmp_path: Path) -> None:
    name = lock_name(lock)
    text = lock.read_text(encoding="utf-8")
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert run(tmp_path, "init")[0] == 0
    ledger = (tmp_path / "pinwarden-ledger.toml").read_bytes()
    doc = tomlkit.parse(text)
    target = pick_target(doc, text, name)
    if kind == "remove-file" and len(target.release.files) < 2:
        pytest.skip("every release of this lock has one file: removing it leaves no valid entry")
    edit, wanted = EDITS[kind]
    expected = [(k, target.release.name, target.release.version, f) for k, f in wanted(target)]
    edit(target)
    (tmp_path / name).write_text(tomlkit.dumps(doc), encoding="utf-8")
    code, got = findings(tmp_path)
    assert got == expected, kind
    assert code == (1 if expected else 0)
    assert (tmp_path / "pinwarden-ledger.toml").read_bytes() == ledger, "check must never write"


SIZED = [p for p in _editable() if "size = " in p.read_text(encoding="utf-8")]
TIMED = [p for p in _editable() if "upload-time" in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("lock", SIZED, ids=lambda p: p.name)
def test_a_lock_lying_about_a_trusted_files_size_is_a_changed_file(lock: Path, tmp_path: Path) -> None:
    """Same hash, another size: the lock no longer describes the trusted bytes. One finding, and
    one again when the hash changes too."""
    name = lock_name(lock)
    text = lock.read_text(encoding="utf-8")
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert run(tmp_path, "init")[0] == 0
    assert "size = " in (tmp_path / "pinwarden-ledger.toml").read_text()
    doc = tomlkit.parse(text)
    target = pick_target(doc, text, name)
    lie_about_size(target)
    (tmp_path / name).write_text(tomlkit.dumps(doc), encoding="utf-8")
    key = (target.release.name, target.release.version, _first(target))
    assert findings(tmp_path) == (1, [("changed-file", *key)])
    code, out, _ = run(tmp_path, "check")
    assert code == 1
    assert "A lock records another size for a file you trusted" in out
    assert "bytes: the lock does not describe the trusted file" in out
    replace_hash(target)
    (tmp_path / name).write_text(tomlkit.dumps(doc), encoding="utf-8")
    assert findings(tmp_path) == (1, [("changed-file", *key)])


@pytest.mark.parametrize("lock", TIMED, ids=lambda p: p.name)
def test_a_file_uploaded_long_after_the_others_is_a_late_upload_offline(lock: Path, tmp_path: Path) -> None:
    name = lock_name(lock)
    text = lock.read_text(encoding="utf-8")
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert run(tmp_path, "init")[0] == 0
    doc = tomlkit.parse(text)
    target = pick_target(doc, text, name)
    add_file(target, late=True)
    (tmp_path / name).write_text(tomlkit.dumps(doc), encoding="utf-8")
    probe = probe_filename(target.release)
    key = (target.release.name, target.release.version, probe)
    assert findings(tmp_path) == (1, [("new-file", *key), ("late-upload", *key)])
    _, out, _ = run(tmp_path, "check")
    assert f"{probe}: late upload: added" in out


def _one_uv_lock() -> Path:
    return min((p for p in UV_LOCKS if p.stat().st_size < EDITABLE), key=lambda p: p.stat().st_size)


def test_approving_a_uv_lock_finding_prints_and_records_as_for_poetry(tmp_path: Path) -> None:
    lock = _one_uv_lock()
    text = lock.read_text(encoding="utf-8")
    (tmp_path / "uv.lock").write_text(text, encoding="utf-8")
    assert run(tmp_path, "init")[0] == 0
    doc = tomlkit.parse(text)
    target = pick_target(doc, text, "uv.lock")
    replace_hash(target)
    (tmp_path / "uv.lock").write_text(tomlkit.dumps(doc), encoding="utf-8")
    spec = f"{target.release.name}=={target.release.version}"
    code, out, _ = run(tmp_path, "check")
    assert code == 1
    assert out.rstrip().endswith(f'pinwarden approve {spec} --reason "WHY"'), out
    code, out, _ = run(tmp_path, "approve", spec)
    assert code == 1
    assert "nothing was recorded; say why the new bytes are expected" in out
    code, out, _ = run(tmp_path, "approve", spec, "--reason", "rebuilt upstream")
    assert code == 0, out
    assert f"pinwarden: {spec} from uv.lock (the lock):" in out
    assert f"  {_first(target)}  sha256:{NEW_HEX}" in out
    assert f"pinwarden: {spec}: approved 1 change(s); ledger" in out
    assert f"  changed-file  {_first(target)}  sha256:{NEW_HEX}" in out
    ledger = (tmp_path / "pinwarden-ledger.toml").read_text()
    assert NEW_HEX in ledger and 'reason = "rebuilt upstream"' in ledger
    assert run(tmp_path, "check")[0] == 0
    code, out, _ = run(tmp_path, "show", target.release.name)
    assert code == 0 and f"sha256:{NEW_HEX}" in out and "rebuilt upstream" in out


def test_a_foreign_host_is_not_adopted_by_init_and_file_hosts_allows_it(tmp_path: Path) -> None:
    lock = _one_uv_lock()
    text = lock.read_text(encoding="utf-8")
    doc = tomlkit.parse(text)
    target = pick_target(doc, text, "uv.lock")
    foreign_host(target)
    (tmp_path / "uv.lock").write_text(tomlkit.dumps(doc), encoding="utf-8")
    code, out, _ = run(tmp_path, "init")
    assert code == 1 and "HOST" in out
    assert "init adopts no file on a host its index does not use" in out
    assert not (tmp_path / "pinwarden-ledger.toml").exists()
    host = str(_files(target.package)[0]["url"]).split("/")[2]
    assert f"fetched from {host} (" in out
    assert f'or: add "{host}" to [tool.pinwarden] file-hosts in pyproject.toml' in out
    assert "relock (no approval trusts a host): pinwarden uv lock" in out
    (tmp_path / "pyproject.toml").write_text(f'[tool.pinwarden]\nfile-hosts = ["{host.upper()}."]\n')
    assert run(tmp_path, "init")[0] == 0
    assert run(tmp_path, "check")[0] == 0


BAD_INPUTS = {
    "not TOML": b"version = 1\n[[package]\n",
    "not UTF-8": b'version = 1\nrevision = 3\n\n[[package]]\nname = "\xff"\n',
    "a hash that is none": b'version = 1\nrevision = 3\n\n[[package]]\nname = "a"\nversion = "1"\n'
    b'source = { registry = "https://pypi.org/simple" }\n'
    b'sdist = { url = "https://files.pythonhosted.org/a-1.tar.gz", hash = "sha256:xyz", size = 1 }\n',
}


@pytest.mark.parametrize("name", ["uv.lock", "pylock.toml"])
@pytest.mark.parametrize("bad", list(BAD_INPUTS))
@pytest.mark.parametrize("command", ["init", "check"])
def test_bad_input_is_one_line_exit_2_nothing_written(
    name: str, bad: str, command: str, tmp_path: Path
) -> None:
    (tmp_path / name).write_bytes(BAD_INPUTS[bad])
    if command == "check":
        (tmp_path / "pinwarden-ledger.toml").write_text("ledger-format = 1\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    ledger = (tmp_path / "pinwarden-ledger.toml").read_bytes() if command == "check" else None
    code, out, err = run(tmp_path, command)
    assert code == 2, out + err
    assert out == ""
    assert err.startswith("pinwarden: error:") and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if ledger is not None:
        assert (tmp_path / "pinwarden-ledger.toml").read_bytes() == ledger


def test_canonical_version_of_respelled_version_is_the_same() -> None:
    """The premise of the respelled-version case: `X.0` appended is the same PEP 440 version."""
    assert canonical_version("4.10.0.0") == canonical_version("4.10.0")
