"""uv.lock read as uv reads it: a differential test with the real uv as the oracle.

`uv export --frozen --format pylock.toml` writes what uv's installer takes from a uv.lock, from the
lock alone (offline): every package's files with their URL (or local path), hash, size and upload
time, git commits and local directories. For every lock pinwarden accepts, both readings must be the
same set of (name, version, location, hash, size, upload second) per file, (name, version, commit) per
git package and (name, path) per source tree; otherwise pinwarden must refuse the lock (InputError).

The locks: the 7 real ones in tests/data/uv-locks (with a minimal pyproject.toml beside each, which
`--frozen` needs only for the root's name), a lock the real `uv lock` writes in the test against a
local index (registry files with upload times, a second index, a build-tagged wheel, a local version
whose URL is percent-encoded, one name at two versions under markers, direct URL wheel and sdist,
local wheel and sdist, a directory, an editable with a dynamic version, a git repository, a workspace
member), that lock mutated (re-spelled versions and names, other key orders, inline tables against
arrays of tables, TOML escapes and string kinds, percent-encoded filenames, duplicate keys and
packages, hashes in other spellings or missing...), and that lock rewritten in random TOML spellings.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from tests.support.index import PackageIndex, build_sdist, build_wheel
from tests.support.uv_project import export_pylock, local_project, run_uv, uv_env, uv_tool
from tests.test_poetry_lock_diff import Writer

from pinwarden.shared.errors import InputError
from pinwarden.shared.filenames import file_identity
from pinwarden.shared.locks.uv_lock import parse_uv_lock
from pinwarden.shared.model import SourceKind, canonical_version, normalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

DATA = Path(__file__).parent / "data" / "uv-locks"
Row = tuple[Any, ...]


# ---------------------------------------------------------------------------------------------
# the two readings


def uv_rows(doc: dict[str, Any]) -> set[Row]:
    """What `uv export` says uv installs, as rows. A file's name is the one uv gives it (`name`, which
    uv writes when the URL's last segment is not its own spelling), else the location's last segment."""
    rows: set[Row] = set()
    for package in doc.get("packages", []):
        name = normalize_name(package["name"])
        version = canonical_version(package["version"]) if "version" in package else None
        for entry in [
            *package.get("wheels", []),
            *(p for p in [package.get("sdist"), package.get("archive")] if p),
        ]:
            where = entry["url"] if "url" in entry else "path:" + entry["path"]
            filename = entry.get("name") or unquote(urlsplit(where).path.rpartition("/")[2])
            ((algorithm, digest),) = entry["hashes"].items()
            moment = entry.get("upload-time")
            second = moment.strftime("%Y-%m-%dT%H:%M:%S") if isinstance(moment, datetime) else None
            identity = file_identity(filename, name)
            rows.add(
                ("file", name, version, where, identity, f"{algorithm}:{digest}", entry.get("size"), second)
            )
        if "vcs" in package:
            rows.add(("git", name, version, package["vcs"]["url"], package["vcs"]["commit-id"]))
        if "directory" in package:
            rows.add(("tree", name, package["directory"]["path"]))
    return rows


def pinwarden_rows(text: str) -> set[Row]:
    """What pinwarden reads, as the same rows; virtual packages (uv installs nothing) left out."""
    lock = parse_uv_lock(text, "uv.lock")
    doc = tomllib.loads(text)
    packages = doc.get("package", doc.get("distribution", []))
    virtual = {
        (normalize_name(p["name"]), p["source"]["virtual"]) for p in packages if "virtual" in p["source"]
    }
    rows: set[Row] = set()
    for release in lock.releases:
        name, version = release.name, release.version
        if release.source_kind is SourceKind.GIT:
            base = (release.source_url or "").partition("?")[0]
            rows.add(("git", name, version, base, release.source_reference))
        elif release.source_kind is SourceKind.DIRECTORY and (name, release.source_url) not in virtual:
            rows.add(("tree", name, release.source_url))
        for f in release.files:
            where = f.url if f.url is not None else f"path:{release.source_url}"
            second = f.upload_time[:19] if f.upload_time else None
            identity = file_identity(f.filename or "", name)
            rows.add(("file", name, version, where, identity, str(f.hash), f.size, second))
    return rows


def verdict(project: Path, env: dict[str, str]) -> str:
    """'same' when both read the lock alike, 'refused: PROBLEMS' when pinwarden refuses it; fails
    when pinwarden reads what uv refuses or reads otherwise."""
    text = (project / "uv.lock").read_text(encoding="utf-8")
    try:
        mine = pinwarden_rows(text)
    except InputError as exc:
        assert exc.problems
        return "refused: " + "; ".join(str(p) for p in exc.problems)
    theirs = export_pylock(project, env)
    assert not isinstance(theirs, str), f"pinwarden reads a lock uv refuses:\n{theirs}\n{text}"
    expected = uv_rows(theirs)
    assert mine == expected, f"only pinwarden: {sorted(mine - expected)}\nonly uv: {sorted(expected - mine)}"
    return "same"


# ---------------------------------------------------------------------------------------------
# real locks


def _real() -> list[Path]:
    return sorted(DATA.glob("*.lock"))


@pytest.mark.parametrize("path", _real(), ids=lambda p: p.name)
def test_real_locks_are_read_as_uv_reads_them(path: Path, tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    doc = tomllib.loads(text)
    (root,) = [p for p in doc["package"] if p["source"] in ({"editable": "."}, {"virtual": "."})]
    project = tmp_path / "project"
    project.mkdir()
    (project / "uv.lock").write_text(text, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "{root["name"]}"\nversion = "0"\nrequires-python = "{doc["requires-python"]}"\n'
    )
    assert verdict(project, uv_env(tmp_path)) == "same"


# ---------------------------------------------------------------------------------------------
# a lock written by the real uv


@dataclass
class Generated:
    project: Path
    env: dict[str, str]
    text: str
    index_url: str

    def copy(self, tmp_path: Path, text: str | bytes) -> Path:
        project = tmp_path / "project"
        shutil.copytree(self.project, project, ignore=shutil.ignore_patterns(".venv"))
        if isinstance(text, str):
            (project / "uv.lock").write_text(text, encoding="utf-8", newline="")
        else:
            (project / "uv.lock").write_bytes(text)
        return project


def _git_repository(path: Path, env: dict[str, str]) -> str:
    local_project(path, "gitpkg", "1.1")
    for argv in (
        ["init", "-q"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", *argv], cwd=path, env=env, check=True, capture_output=True)
    return path.resolve().as_uri()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    uv_tool()
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    tmp = tmp_path_factory.mktemp("uvgen")
    env = uv_env(tmp / "env")
    main, second = PackageIndex(), PackageIndex()
    main.add("alpha", "1.0.0", *build_wheel("alpha", "1.0.0"), upload_time="2024-01-02T03:04:05.678Z")
    main.add(
        "alpha", "1.0.0", *build_wheel("alpha", "1.0.0", build_tag=1), upload_time="2024-03-02T03:04:05Z"
    )
    main.add("alpha", "1.0.0", *build_sdist("alpha", "1.0.0"), upload_time="2024-01-02T03:04:05Z")
    main.add("alpha", "2.0", *build_wheel("alpha", "2.0"))
    main.add("gamma", "1.0+local.1", *build_wheel("gamma", "1.0+local.1"))
    main.add("Dotted.Name", "3.0", *build_wheel("Dotted.Name", "3.0"))
    main.add("directwheel", "2.0", *build_wheel("directwheel", "2.0"))
    main.add("directsdist", "1.5", *build_sdist("directsdist", "1.5"))
    second.add("beta", "3.0", *build_wheel("beta", "3.0"), upload_time="2024-05-06T07:08:09Z")
    project = tmp / "project"
    files = project / "files"
    files.mkdir(parents=True)
    for filename, data in (build_wheel("localwheel", "3.0"), build_sdist("localsdist", "4.0")):
        (files / filename).write_bytes(data)
    local_project(project / "libs" / "libdir", "libdir", "0.5")
    local_project(project / "libs" / "libed", "libed", None)
    local_project(project / "packages" / "member", "member", "0.3")
    git_url = _git_repository(tmp / "gitrepo", env)
    with main.serve() as url, second.serve() as url2:
        files_url = url.replace("/simple/", "/files/")
        dependencies = [
            "alpha==1.0.0; python_version < '3.12'", "alpha==2.0; python_version >= '3.12'", "beta", "gamma",
            "dotted-name", "localwheel", "localsdist", "libdir", "libed", "gitpkg", "directwheel",
            "directsdist",
            "member",
        ]  # fmt: skip
        sources = f"""
[tool.uv.workspace]
members = ["packages/*"]

[[tool.uv.index]]
name = "second"
url = "{url2}"
explicit = true

[tool.uv.sources]
beta = {{ index = "second" }}
localwheel = {{ path = "files/localwheel-3.0-py3-none-any.whl" }}
localsdist = {{ path = "files/localsdist-4.0.tar.gz" }}
libdir = {{ path = "libs/libdir" }}
libed = {{ path = "libs/libed", editable = true }}
gitpkg = {{ git = "{git_url}" }}
directwheel = {{ url = "{files_url}directwheel/directwheel-2.0-py3-none-any.whl" }}
directsdist = {{ url = "{files_url}directsdist/directsdist-1.5.tar.gz" }}
member = {{ workspace = true }}
"""
        local_project(project, "demo", "0.1", extra=sources)
        text = (project / "pyproject.toml").read_text()
        (project / "pyproject.toml").write_text(
            text.replace(
                'requires-python = ">=3.10"\n',
                f'requires-python = ">=3.10"\ndependencies = {dependencies!r}\n',
            )
        )
        run_uv(["lock", "--python", sys.executable, "--default-index", url], project, env)
        yield Generated(project, env, (project / "uv.lock").read_text(encoding="utf-8"), url)


def test_generated_lock_holds_every_kind(generated: Generated) -> None:
    """The lock the real uv wrote has what this file says it tests, and both read it alike."""
    text = generated.text
    assert re.search(r"^revision = \d+$", text, re.M)
    kinds = {
        k
        for k in ("registry", "git", "url", "path", "directory", "editable")
        if f"source = {{ {k} = " in text
    }
    assert kinds == {"registry", "git", "url", "path", "directory", "editable"}
    for expected in (
        "%2Blocal.1",
        "upload-time",
        'name = "alpha"\nversion = "2.0"',
        "alpha-1.0.0-1-py3-none-any.whl",
    ):
        assert expected in text, expected
    assert 'name = "libed"\nsource' in text  # no version: dynamic
    assert verdict(generated.project, generated.env) == "same"


# ---------------------------------------------------------------------------------------------
# mutations: read as uv reads them, or refused


def _first(pattern: str, repl: str | Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        changed, n = re.subn(pattern, repl, text, count=1, flags=re.M)
        assert n == 1, pattern
        return changed

    return mutate


def _all(pattern: str, repl: str) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        changed, n = re.subn(pattern, repl, text, flags=re.M)
        assert n >= 1, pattern
        return changed

    return mutate


def _arrays_of_tables(text: str) -> str:
    """`wheels = [ {...}, ]` written as `[[package.wheels]]` sections (after the package's other keys)."""
    out = []
    for block in text.split("\n[[package]]\n"):
        match = re.search(r"^wheels = \[\n((?:    \{.*\},\n)+)\]\n", block, re.M)
        if match is None or "\n[" in block[match.end() :]:
            out.append(block)
            continue
        entries = re.findall(r"    \{ (.*) \},\n", match.group(1))
        tables = "".join("\n[[package.wheels]]\n" + "\n".join(_split_inline(e)) + "\n" for e in entries)
        out.append(block[: match.start()] + block[match.end() :].rstrip("\n") + "\n" + tables)
    return "\n[[package]]\n".join(out)


def _split_inline(body: str) -> list[str]:
    return [part.strip() for part in re.findall(r'[a-z-]+ = (?:"[^"]*"|[^,]+)', body)]


def _reorder(text: str) -> str:
    """Every package's `source` line first and `name` last: TOML key order means nothing."""

    def move(match: re.Match[str]) -> str:
        name, version, source = match.group(1), match.group(2) or "", match.group(3)
        return f"[[package]]\n{source}{version}{name}"

    return re.sub(r"\[\[package\]\]\n(name = .*\n)(version = .*\n)?(source = .*\n)", move, text)


def _escape(char: str) -> Callable[[str], str]:
    """Every `char` inside the lock's URLs written as a \\u escape."""

    def mutate(text: str) -> str:
        return re.sub(
            r'(url = ")([^"]*)(")', lambda m: m[1] + m[2].replace(char, f"\\u{ord(char):04x}") + m[3], text
        )

    return mutate


def _literal_urls(text: str) -> str:
    return re.sub(r'url = "([^"\\\']*)"', r"url = '\1'", text)


def _multiline_urls(text: str) -> str:
    return re.sub(r'url = "(http://[^"/]*/)([^"]*)"', r'url = """\1\\\n    \2"""', text)


def _percent_encode_dots(text: str) -> str:
    """`alpha-1.0.0-py3-none-any.whl` as `alpha-1%2E0%2E0-py3-none-any.whl`: uv decodes the name."""
    pattern = r'(url = "[^"]*/)alpha-1\.0\.0-py3-none-any\.whl"'
    return re.sub(pattern, r'\1alpha-1%2E0%2E0-py3-none-any.whl"', text)


def _duplicate_package(text: str) -> str:
    match = re.search(r'\[\[package\]\]\nname = "beta"\n(?:.*\n)*?\n', text)
    assert match is not None
    return text + "\n" + match.group(0)


REGISTRY = r'source = \{ registry = ("[^"]*") \}'
MUTATIONS: dict[str, tuple[Callable[[str], str], str]] = {
    # Re-spelled but equal: read the same ("same": as the lock uv wrote; "alike": as uv reads the change).
    "version-respelled": (_first(r'^version = "1\.0\.0"$', 'version = "1.0"'), "same"),
    "version-v-prefix": (_first(r'^version = "3\.0"$', 'version = "v3.0.0"'), "same"),
    "name-respelled": (_first(r'^name = "dotted-name"$', 'name = "Dotted.Name"'), "same"),
    "key-order": (_reorder, "same"),
    "arrays-of-tables": (_arrays_of_tables, "same"),
    "escaped-slashes": (_escape("/"), "same"),
    "escaped-letters": (_escape("a"), "same"),
    "literal-strings": (_literal_urls, "same"),
    "multiline-strings": (_multiline_urls, "same"),
    "percent-encoded-filename": (_percent_encode_dots, "alike"),
    "filename-spelled": (_first(r"/alpha-2\.0-py3-none-any\.whl", "/Alpha-2.0-py3-none-any.whl"), "alike"),
    "crlf": (lambda t: t.replace("\n", "\r\n"), "same"),
    "comments": (lambda t: t.replace("\n[[package]]\n", "\n# a comment\n[[package]] # another\n"), "same"),
    "upload_time-alias": (_all(r"upload-time = ", "upload_time = "), "same"),
    "distribution-alias": (_all(r"^\[(\[?)package([\].])", r"[\1distribution\2"), "same"),
    "no-revision": (_first(r"^revision = \d+\n", ""), "same"),
    "revision-1": (_first(r"^revision = \d+$", "revision = 1"), "same"),
    "url-query": (_first(r'(url = "[^"]*alpha-2\.0-py3-none-any\.whl)"', r'\1?x=1"'), "alike"),
    "url-fragment": (_first(r'(url = "[^"]*alpha-2\.0-py3-none-any\.whl)"', r'\1#x"'), "alike"),
    "size-dropped": (_first(r", size = \d+", ""), "alike"),
    "upload-time-dropped": (_first(r', upload-time = "[^"]*"', ""), "alike"),
    # What pinwarden refuses (uv refuses some of them too; the rest it would read another way or
    # install unchecked).
    "duplicate-key": (_first(r"(hash = \"[^\"]*\")", r'\1, hash = "sha256:' + "0" * 64 + '"'),
        "refused: invalid TOML: Duplicate inline table key 'hash'"),
    "duplicate-package": (_duplicate_package, "refused: is locked twice"),
    "version-2": (_first(r"^version = 1$", "version = 2"), "refused: unsupported lock version 2"),
    "revision-newer": (_first(r"^revision = \d+$", "revision = 99"),
        "refused: revision 99 is newer than pinwarden reads"),
    "hash-upper-case": (_first(r'hash = "sha256:([0-9a-f]+)"', lambda m: f'hash = "sha256:{m[1].upper()}"'),
        "refused: is not written as uv compares it"),
    "hash-missing": (_first(r', hash = "[^"]*"', ""), "refused: uv would install the file unchecked"),
    "hash-blake2b": (_first(r'hash = "sha256:[0-9a-f]+"', f'hash = "blake2b:{"0" * 128}"'),
        "refused: unknown hash algorithm 'blake2b'"),
    "wheel-of-other-version": (_first(r"alpha-2\.0-py3", "alpha-2.1-py3"),
        "refused: is not a wheel of version 2"),
    "size-string": (_first(r"size = (\d+)", r'size = "\1"'), "refused: is not a size in bytes"),
    "upload-time-offset": (_first(r'upload-time = "([^"]*)Z"', r'upload-time = "\1+00:00"'),
        "refused: is not a time as uv writes it"),
    "upload-time-datetime": (_first(r'upload-time = "([^"]*)"', r"upload-time = \1"),
        "refused: is not a time as uv writes it"),
    "source-two-kinds": (_first(REGISTRY, r"source = { registry = \1, url = \1 }"),
        "refused: (found: registry, url)"),
    "source-extra-key": (_first(REGISTRY, r"source = { registry = \1, x = 1 }"),
        "refused: unexpected key(s) x beside registry"),
    "git-without-commit": (_first(r'(source = \{ git = "[^"#]*)#[0-9a-f]+"', r'\1"'),
        "refused: does not end in #<commit>"),
    "path-wheel-renamed": (_first(r'filename = "localwheel-3\.0', 'filename = "localwheel2-3.0'),
        "refused: is not the name of the source's file"),
    "zstd": (_first(r'hash = ("[^"]*")', r"hash = \1, zstd = { hash = \1 }"), "refused: a zstd twin"),
    "direct-file-unhashed": (_first(r'^sdist = \{ hash = "[^"]*" \}\n', ""),
        "refused: no sdist nor wheel entry with the hash"),
    "no-requires-python": (_first(r"^requires-python = .*\n", ""), "refused: requires-python: missing"),
}  # fmt: skip


@pytest.mark.parametrize("mutation", list(MUTATIONS), ids=str)
def test_mutated_lock_is_read_as_uv_reads_it_or_refused(
    generated: Generated, tmp_path: Path, mutation: str
) -> None:
    mutate, expected = MUTATIONS[mutation]
    text = mutate(generated.text)
    assert text != generated.text
    project = generated.copy(tmp_path, text)
    outcome = verdict(project, generated.env)
    if expected.startswith("refused: "):
        assert outcome.startswith("refused: ") and expected.removeprefix("refused: ") in outcome, outcome
    else:
        assert outcome == "same"
    if expected == "same":
        # A re-spelling that means the same reads the same as the lock uv wrote.
        assert pinwarden_rows(text) == pinwarden_rows(generated.text)


def test_local_folder_registry_is_refused(generated: Generated, tmp_path: Path) -> None:
    """uv locks the files of a `--find-links` folder without hashes: it would install whatever the folder
    holds, so pinwarden refuses the lock rather than trust nothing."""
    project = tmp_path / "flproject"
    folder = tmp_path / "wheels"
    folder.mkdir()
    filename, data = build_wheel("delta", "5.0")
    (folder / filename).write_bytes(data)
    local_project(project, "flproject", "0.1")
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.replace('">=3.10"\n', '">=3.10"\ndependencies = ["delta"]\n', 1)
    )
    run_uv(
        ["lock", "--python", sys.executable, "--no-index", "--find-links", str(folder)],
        project,
        generated.env,
    )
    lock = (project / "uv.lock").read_text()
    assert f'source = {{ registry = "{folder}" }}' in lock
    assert verdict(project, generated.env).startswith("refused: ")
    with pytest.raises(
        InputError, match="hash: missing or not a string: uv would install the file unchecked"
    ):
        parse_uv_lock(lock, "uv.lock")


# ---------------------------------------------------------------------------------------------
# the generated lock in random TOML spellings


def _spelled(doc: dict[str, Any], seed: int) -> str:
    rng = random.Random(seed)
    writer = Writer(rng, twice=rng.random() < 0.1)
    text = "\n".join(writer.body(doc, [])) + "\n"
    return text.replace("\n", "\r\n") if rng.randrange(10) == 0 else text


SPELLINGS = 40


@pytest.mark.parametrize("seed", range(SPELLINGS))
def test_random_spellings_are_read_as_uv_reads_them(generated: Generated, tmp_path: Path, seed: int) -> None:
    """Keys bare or quoted, strings basic, literal, multi-line or escaped, tables inline, dotted or
    as sections, now and then a key given twice: read as uv reads it, or refused."""
    doc = tomllib.loads(generated.text)
    text = _spelled(doc, seed)
    project = generated.copy(tmp_path, text.encode())
    outcome = verdict(project, generated.env)
    if outcome == "same":
        assert pinwarden_rows(text) == pinwarden_rows(generated.text)
