"""pylock.toml read as pip reads it: a differential test with packaging.pylock (what pip 26 runs for
`pip install -r pylock.toml`) and pip's own URL and hash handling as the oracle.

Documents: the corpus files; the corpus files mutated (a key dropped, retyped, respelled; a URL, name
or hash changed); and generated ones (names and versions in many spellings, a wheel's `name` against
its URL's or path's basename, percent-encoding, `;params`, query and fragment; hash algorithms and
digests in other case, weak, unknown or malformed; sizes and upload times of every TOML type;
lock-versions; vcs, directory and archive entries; one name locked several times under markers; key
order shuffled; inline tables or arrays of tables). For every document pinwarden reads, the oracle
must read it too and give per package the same (name, version, {(filename, algorithm, digest)},
fetched URLs, size and upload time per file); every other document must be refused with InputError
and nothing else. Oracle only: the reader itself imports neither.

The default run makes 1,500 generated and 600 mutated documents; PINWARDEN_NIGHTLY=1 ten times as
many (PINWARDEN_PYLOCKDIFF_EXAMPLES sets another count, PINWARDEN_FUZZ_SEED another seed).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
import os
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from pinwarden.shared.errors import InputError
from pinwarden.shared.filenames import file_identity
from pinwarden.shared.locks.pylock import UNVERSIONED, parse_pylock
from pinwarden.shared.model import LockFile, SourceKind, canonical_version, normalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pylock = pytest.importorskip("packaging.pylock")

NIGHTLY = os.environ.get("PINWARDEN_NIGHTLY") == "1"
EXAMPLES = int(os.environ.get("PINWARDEN_PYLOCKDIFF_EXAMPLES", "15000" if NIGHTLY else "1500"))
DATA = Path(__file__).parent / "data" / "pylock"
CORPUS = sorted(DATA.glob("*.toml"))
LOCK_PATH = "/work/project/pylock.toml"  # pip resolves relative paths against the lock's directory

Reading = tuple[str, str | None, Any, frozenset[Any]]


# ---------------------------------------------------------------------------------------------
# the oracle: packaging.pylock validates, pip fetches and hashes


def _pip_hash(algorithm: str, digest: str) -> tuple[str, str]:
    """pip's `Hashes`: `hashlib.new(algorithm)` (ValueError if unknown), digest lower-cased."""
    try:
        return hashlib.new(algorithm).name, digest.lower()
    except (ValueError, TypeError):  # pip: "Unknown hash name", nothing installs
        return f"unknown {algorithm!r}", digest


def _fetched(url: str) -> str:
    from pip._internal.models.link import Link

    return Link(url).filename


def oracle(text: str) -> list[Reading] | None:
    """What pip takes from the document, or None where it refuses it before installing. Both the
    installed packaging and the one pip vendors must read it, and alike (they differ on backslashes
    in paths, for one)."""
    from pip._vendor.packaging import pylock as vendored

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    from pip._internal.exceptions import InstallationError

    try:
        readings = [_oracle_with(module, data) for module in (pylock, vendored)]
    except InstallationError:  # pip refuses the package's URL before it installs anything
        return None
    return readings[0] if readings[0] == readings[1] else None


def _oracle_with(module: Any, data: dict[str, Any]) -> list[Reading] | None:
    from pip._internal.utils import pylock as pip_pylock

    try:
        lock = module.Pylock.from_dict(data)
    except module.PylockValidationError:
        return None
    readings: list[Reading] = []
    for package in lock.packages:
        if package.wheels or package.sdist:
            dists = [*(package.wheels or []), *([package.sdist] if package.sdist else [])]
            files = set()
            for dist in dists:
                url = pip_pylock._package_dist_url(LOCK_PATH, dist.path, dist.url)
                # pip judges and installs what it fetches: the same file, or pinwarden must refuse.
                same = file_identity(dist.filename, package.name) == file_identity(
                    _fetched(url), package.name
                )
                for algorithm, digest in dist.hashes.items():
                    size, uploaded = dist.size, _time(dist.upload_time)
                    fetched = dist.url if dist.path is None else None
                    files.add((dist.filename, *_pip_hash(algorithm, digest), fetched, size, uploaded, same))
            versions = {canonical_version(_file_version(d.filename)) for d in dists}
            version = canonical_version(str(package.version)) if package.version else versions.pop()
            readings.append((package.name, version, package.index, frozenset(files)))
        elif package.archive:
            archive = package.archive
            url = pip_pylock.package_archive_requirement_url(LOCK_PATH, archive)
            from pip._internal.models.link import Link

            link = Link(url)
            hashes = {_pip_hash(a, d) for a, d in archive.hashes.items()}
            if link.hash and link.hash_name:
                hashes.add((link.hash_name, link.hash))
            fetched = archive.url if archive.path is None else None
            files = {(link.filename, *h, fetched, archive.size, _time(archive.upload_time)) for h in hashes}
            version = canonical_version(str(package.version)) if package.version else None
            readings.append((package.name, version, ("archive", url), frozenset(files)))
        elif package.vcs:
            # git reads a commit's hex in either case: one commit, one spelling.
            vcs = dataclasses.replace(package.vcs, commit_id=package.vcs.commit_id.lower())
            url = pip_pylock.package_vcs_requirement_url(LOCK_PATH, vcs)
            version = canonical_version(str(package.version)) if package.version else None
            readings.append((package.name, version, ("git", url), frozenset()))
        else:
            assert package.directory is not None
            url = pip_pylock.package_directory_requirement_url(LOCK_PATH, package.directory)
            version = canonical_version(str(package.version)) if package.version else None
            readings.append((package.name, version, ("directory", url), frozenset()))
    return readings


def _file_version(filename: str) -> str:
    from packaging.utils import parse_sdist_filename, parse_wheel_filename

    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[1])
    return str(parse_sdist_filename(filename)[1])


def _time(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


def mine(lock: LockFile) -> list[Reading]:
    """pinwarden's reading in the oracle's shape."""
    from pip._internal.utils import pylock as pip_pylock

    readings = []
    for r in lock.releases:
        version = None if r.version == UNVERSIONED or r.version_from_filename else r.version
        files = frozenset(
            (f.filename, f.hash.algorithm, f.hash.value, f.url, f.size, _parse_time(f.upload_time))
            + ((True,) if r.source_kind is SourceKind.INDEX else ())
            for f in r.files
        )
        if r.source_kind is SourceKind.INDEX:
            readings.append((r.name, version, r.source_url, files))
        elif r.source_kind in (SourceKind.URL, SourceKind.FILE):
            place = r.source_url or ""
            url, _, sub = place.partition("#subdirectory=")
            archive = pip_pylock.PackageArchive(
                url=url if r.source_kind is SourceKind.URL else None,
                path=url if r.source_kind is SourceKind.FILE else None,
                hashes={"x": "x"},
                subdirectory=sub or None,
            )
            readings.append(
                (
                    r.name,
                    version,
                    ("archive", pip_pylock.package_archive_requirement_url(LOCK_PATH, archive)),
                    files,
                )
            )
        elif r.source_kind is SourceKind.GIT:
            commit, _, sub = (r.source_reference or "").partition("#subdirectory=")
            local = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", r.source_url or "") is None
            vcs = pip_pylock.PackageVcs(
                type="git",
                url=None if local else r.source_url,
                path=r.source_url if local else None,
                commit_id=commit,
                subdirectory=sub or None,
            )
            readings.append(
                (r.name, version, ("git", pip_pylock.package_vcs_requirement_url(LOCK_PATH, vcs)), files)
            )
        else:
            directory = pip_pylock.PackageDirectory(path=r.source_url or "")
            url = pip_pylock.package_directory_requirement_url(LOCK_PATH, directory)
            readings.append((r.name, version, ("directory", url), files))
    return readings


def _parse_time(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


OUTCOMES: Counter[str] = Counter()


def check_document(text: str) -> str:
    """The property for one document; returns the outcome, for counting."""
    try:
        lock = parse_pylock(text, "pylock.toml")
    except InputError as exc:
        assert exc.problems, "an InputError names its problems"
        return "refused"
    theirs = oracle(text)
    assert theirs is not None, f"pinwarden reads a document pip refuses:\n{text}"
    ours = mine(lock)
    assert Counter(map(_key, ours)) == Counter(map(_key, theirs)), (
        f"readings differ:\n{text}\n{ours}\n{theirs}"
    )
    return "read"


def _key(reading: Reading) -> str:
    return json.dumps(
        reading, default=lambda v: sorted(map(repr, v)) if isinstance(v, frozenset) else repr(v)
    )


# ---------------------------------------------------------------------------------------------
# TOML out, in both shapes writers use


def toml_value(value: Any, rng: random.Random) -> str:  # noqa: PLR0911 - one return per TOML type
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, str):
        if rng.random() < 0.15 and "'" not in value and "\n" not in value and value.isprintable():
            return f"'{value}'"
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v, rng) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v, rng)}" for k, v in value.items()) + "}"


def toml_key(key: str) -> str:
    return key if key and all(c.isalnum() or c in "-_" for c in key) and key.isascii() else json.dumps(key)


def toml_document(data: dict[str, Any], rng: random.Random) -> str:
    """Top-level scalars, then `[[packages]]` with each package's files either inline (uv, PDM) or
    as `[[packages.wheels]]` / `[packages.sdist]` sections with `hashes` sub-tables (pip)."""
    lines = [f"{toml_key(k)} = {toml_value(v, rng)}" for k, v in data.items() if k != "packages"]
    packages = data.get("packages")
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        if "packages" in data:
            lines.append(f"packages = {toml_value(packages, rng)}")
        return "\n".join(lines) + "\n"
    for package in packages:
        lines += ["", "[[packages]]"]
        sections = []
        for key, value in package.items():
            tables = isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
            if (isinstance(value, dict) or tables) and rng.random() < 0.5:
                sections.append((key, value))
            else:
                lines.append(f"{toml_key(key)} = {toml_value(value, rng)}")
        for key, value in sections:
            for table in value if isinstance(value, list) else [value]:
                header = (
                    f"[[packages.{toml_key(key)}]]"
                    if isinstance(value, list)
                    else f"[packages.{toml_key(key)}]"
                )
                _section(lines, header, f"packages.{toml_key(key)}", table, rng)
    return "\n".join(lines) + "\n"


def _section(lines: list[str], header: str, prefix: str, table: dict[str, Any], rng: random.Random) -> None:
    lines.append(header)
    subs = []
    for key, value in table.items():
        if isinstance(value, dict) and value and rng.random() < 0.5:
            subs.append((key, value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value, rng)}")
    for key, value in subs:
        lines.append(f"[{prefix}.{toml_key(key)}]")
        lines += [f"{toml_key(k)} = {toml_value(v, rng)}" for k, v in value.items()]


# ---------------------------------------------------------------------------------------------
# generated documents

FILES = "https://files.example.org/packages/ab/cd"
UTC = dt.timezone.utc


def _hex(seed_text: str, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, seed_text.encode()).hexdigest()


NAMES = [("demo", "demo"), ("markupsafe", "MarkupSafe"), ("zope-interface", "zope.interface"),
         ("typing-extensions", "typing_extensions"), ("a", "a")]  # fmt: skip
BAD_PACKAGE_NAMES = ["MarkupSafe", "zope.interface", "a_b", "a--b", "-a", ""]
VERSIONS = [
    "1.0",
    "1",
    "1.0.0",
    "v1.0",
    "01.0",
    "1.0.post0",
    "1.0+local.1",
    " 1.0",
    "1.0-1",
    "1.0a1",
    "1!1.0",
]
BAD_VERSIONS = ["1.0.x", "99999999999999999999999999999999999999999.0", ""]
TAGS = ["py3-none-any", "py2.py3-none-any", "cp311-cp311-manylinux_2_17_x86_64", "py3-none-any"]


class Gen:
    """Random choices; `bad(p)` is a hostile one, taken only in hostile documents (half of them),
    so that valid spellings alone also make documents pinwarden must read."""

    def __init__(self, case: int) -> None:
        self.rng = random.Random(case)
        self.hostility = 0.0 if self.rng.random() < 0.5 else self.rng.choice([0.3, 1.0])

    def bad(self, p: float) -> bool:
        return self.rng.random() < p * self.hostility

    def pick(self, good: list[Any], bad: list[Any], p: float = 0.3) -> Any:
        return self.rng.choice(bad) if bad and self.bad(p) else self.rng.choice(good)


def _filename(g: Gen, dist_name: str, version: str, wheel: bool) -> str:
    rng = g.rng
    name = rng.choice([dist_name, dist_name.lower(), dist_name.replace(".", "_").replace("-", "_")])
    name = name.upper() if g.bad(0.1) else name
    if wheel:
        build = g.pick(["", "", "", "-1"], ["-2b", "-x"], 0.1)
        return f"{name}-{version}{build}-{rng.choice(TAGS)}.whl"
    return f"{name}-{version}{g.pick(['.tar.gz', '.zip'], ['.tar.bz2', '.whl', ''], 0.2)}"


def _quote(rng: random.Random, filename: str) -> str:
    """A URL's last segment: as is, or percent-encoded in places (pip and packaging decode it)."""
    roll = rng.random()
    if roll < 0.15:
        return "".join(f"%{ord(c):02X}" if c in "-+!_" and rng.random() < 0.5 else c for c in filename)
    if roll < 0.2:
        return filename.replace("+", "%2b")
    return filename


def _url(g: Gen, filename: str) -> str:
    tail = g.pick(
        ["", "", "", "#sha256=" + _hex("frag"), "?x=1"], [";params", "/", "%2F..%2Fother.whl", "#"], 0.3
    )
    host = g.pick(
        [FILES, FILES, "file:///srv/wheels", "http://127.0.0.1:8080/files"], ["c:/wheels", "files"], 0.2
    )
    return f"{host}/{_quote(g.rng, filename)}{tail}"


def _hashes(g: Gen, seed_text: str) -> Any:
    if g.bad(0.05):
        return g.rng.choice([{}, "sha256:" + _hex(seed_text), [_hex(seed_text)]])
    good = [["sha256"], ["sha256"], ["sha256", "sha512"], ["SHA256"], ["Sha384"], ["sha256", "md5"], ["md5"]]
    algorithms = g.pick(good, [["blake2b"], ["sha-256"], ["sha3_256"], ["sha256 "]], 0.1)
    table: dict[str, Any] = {}
    for algorithm in algorithms:
        try:
            digest = _hex(seed_text, algorithm.lower())
        except ValueError:
            digest = _hex(seed_text)
        digest = digest.upper() if g.rng.random() < 0.15 else digest
        if g.bad(0.1):
            digest = g.rng.choice([digest[:-1], "z" + digest[1:], digest + " ", 7])
        table[algorithm] = digest
    return table


def _file(g: Gen, dist_name: str, version: str, wheel: bool, n: int) -> dict[str, Any]:
    rng = g.rng
    filename = _filename(g, dist_name, version, wheel)
    entry: dict[str, Any] = {}
    # Another spelling of the same file, or (hostile) another file.
    respelled = filename.replace(dist_name, dist_name.lower(), 1) if rng.random() < 0.3 else filename
    other = _filename(g, dist_name, version, wheel) if g.bad(0.3) else respelled
    roll = rng.random()
    if roll < 0.65:
        entry["url"] = _url(g, other)
    elif roll < 0.8:
        entry["path"] = (
            g.pick(["dist/", "./", "../wheels/", "", "/abs/"], ["dist\\", "dist/./", "x/../"]) + other
        )
    elif roll < 0.95:
        entry["url"] = _url(g, other)
        entry["path"] = g.pick(["dist/", ""], ["", "..", "dist/"]) + (filename if rng.random() < 0.8 else "")
    elif g.bad(1):
        entry["url"] = rng.choice(["", FILES + "/"])
    else:
        entry["url"] = _url(g, other)
    if rng.random() < 0.5:
        entry["name"] = filename
    if "path" not in entry and "url" not in entry:
        entry["url"] = _url(g, filename)
    entry["hashes"] = _hashes(g, f"{filename}{n}")
    size = g.pick([None, None, 1234, 0], [-1, True, "12", 1.5])
    if size is not None:
        entry["size"] = size
    plus_two = dt.timezone(dt.timedelta(hours=2))
    moment = g.pick(
        [None, None, dt.datetime(2025, 8, 4, 8, 54, 26, tzinfo=UTC),
         dt.datetime(2025, 8, 4, 8, 54, 26, 12, tzinfo=UTC),
         dt.datetime(2025, 8, 4, 10, 54, 26, tzinfo=plus_two), dt.datetime(2025, 8, 4, 8, 54)],
        [dt.date(2025, 8, 4), "2025-08-04T08:54:26Z", dt.time(8, 54)],
    )  # fmt: skip
    if moment is not None:
        entry["upload-time"] = moment
    keys = list(entry)
    rng.shuffle(keys)
    return {k: entry[k] for k in keys}


def _source(g: Gen, package: dict[str, Any], dist_name: str, version: str, n: int) -> None:  # noqa: PLR0912
    rng = g.rng
    roll = rng.random()
    if roll < 0.75:
        if rng.random() < 0.85 or not g.hostility:
            files_version = version if not g.bad(0.2) else "3.0"
            count = g.pick([1, 1, 2, 3], [0])
            package["wheels"] = [_file(g, dist_name, files_version, True, n * 10 + i) for i in range(count)]
        if rng.random() < 0.4:
            package["sdist"] = _file(g, dist_name, version, False, n * 10 + 9)
    elif roll < 0.85:
        vcs: dict[str, Any] = {"type": g.pick(["git"], ["hg", "Git"]), "commit-id": _commit(g)}
        place = g.pick(
            ["https://github.com/o/r.git", "../repo", "file:///srv/repo"],
            ["https://h/r.git#egg=x", "c:\\repo", ""],
        )
        vcs[rng.choice(["url", "url", "path"])] = place
        if rng.random() < 0.3:
            vcs["subdirectory"] = "sub"
        if rng.random() < 0.3:
            vcs["requested-revision"] = "main"
        package["vcs"] = vcs
    elif roll < 0.93:
        package["directory"] = {"path": g.pick([".", "./lib", "../other", "/abs/dir"], ["sub\\dir", ""])}
        if rng.random() < 0.5:
            package["directory"]["editable"] = g.pick([True, False], ["yes"])
        if rng.random() < 0.2:
            package["directory"]["subdirectory"] = "pkg"
    else:
        archive = _file(g, dist_name, version, rng.random() < 0.5, n)
        archive.pop("name", None)
        if rng.random() < 0.3:
            archive.pop("path", None)
            archive["url"] = rng.choice(
                [
                    "https://github.com/o/r/archive/abc.zip",
                    f"{FILES}/x.tar.gz#md5={_hex('m', 'md5')}",
                    f"{FILES}/x.zip#sha256=bad",
                ]
            )
        if rng.random() < 0.2:
            archive["subdirectory"] = "sub"
        package["archive"] = archive
    if g.bad(0.05):  # a direct source beside files, or two: packaging refuses both
        package["directory"] = {"path": "."}


def _commit(g: Gen) -> str:
    sha1 = _hex("c", "sha1")
    return g.pick([sha1, sha1.upper(), _hex("c")], ["main", "", sha1[:12]])


def generated_package(g: Gen, n: int) -> dict[str, Any]:
    rng = g.rng
    canonical, dist_name = rng.choice(NAMES)
    name = g.pick([canonical], BAD_PACKAGE_NAMES, 0.1)
    version = rng.choice(["1.0", "1.0", "2.0.1", "1.0+local.1", "1.0.post1"])
    package: dict[str, Any] = {"name": name}
    if rng.random() < 0.85:
        package["version"] = (
            g.pick([version, version, *VERSIONS], BAD_VERSIONS, 0.1) if rng.random() < 0.3 else version
        )
    if rng.random() < 0.2:
        package["marker"] = g.pick(["sys_platform == 'win32'", 'python_version < "3.11"'], ["os ==", "extra"])
    if rng.random() < 0.4:
        package["index"] = g.pick(["https://pypi.org/simple", "http://127.0.0.1:1/simple/"], [3])
    if rng.random() < 0.1:
        package["requires-python"] = g.pick([">=3.9"], [">= 3.x"])
    _source(g, package, dist_name, version, n)
    keys = list(package)
    rng.shuffle(keys)
    return {k: package[k] for k in keys}


def generated(case: int) -> str:
    g = Gen(case)
    rng = g.rng
    data: dict[str, Any] = {}
    data["lock-version"] = g.pick(
        ["1.0"] * 8 + ["1", "1.1", "1.0.0", "1.9999", "1.0a1"], ["2.0", "0.9", "2.0.dev0", "x", 1.0]
    )
    if not g.bad(0.1):
        data["created-by"] = g.pick(["pip", "uv", "pdm"], [3])
    if rng.random() < 0.2:
        data["requires-python"] = g.pick([">=3.10", ">=3.10,<4"], ["3.10", ">= 3.x"])
    if rng.random() < 0.1:
        data["environments"] = [g.pick(['python_version >= "3.9"'], ["nonsense"])]
    if rng.random() < 0.1:
        data["extras"] = [g.pick(["socks"], ["Socks"])]
    if rng.random() < 0.1:
        data["default-groups"] = g.pick([["default"]], ["default"])
    if not g.bad(0.05):
        data["packages"] = [generated_package(g, n) for n in range(rng.choice([0, 1, 2, 3, 3, 5]))]
    if rng.random() < 0.1 and data.get("packages"):  # one name locked twice, under markers
        twin = copy.deepcopy(rng.choice(data["packages"]))
        twin["marker"] = "sys_platform == 'linux'"
        data["packages"].append(twin)
    keys = list(data)
    rng.shuffle(keys)
    return toml_document({k: data[k] for k in keys}, rng)


# ---------------------------------------------------------------------------------------------
# mutated corpus documents


def mutated(case: int) -> str:
    rng = random.Random(case)
    path = rng.choice(CORPUS)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for _ in range(rng.choice([1, 1, 2, 3])):
        _mutate(data, rng)
    return toml_document(data, rng)


def _tables_in(node: Any, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        out.append(node)
        for value in node.values():
            _tables_in(value, out)
    elif isinstance(node, list):
        for value in node:
            _tables_in(value, out)
    return out


def _mutate(data: dict[str, Any], rng: random.Random) -> None:
    table = rng.choice(_tables_in(data, []))
    if not table:
        table["hashes"] = {}
        return
    key = rng.choice(list(table))
    value = table[key]
    roll = rng.random()
    if roll < 0.15:
        del table[key]
    elif roll < 0.25:
        table[key] = rng.choice([1, "x", [], {}, True, dt.date(2020, 1, 1)])
    elif isinstance(value, str) and roll < 0.7:
        table[key] = rng.choice([
            value.upper(), value.lower(), value.replace("-", "_"), value.replace(".whl", "-1.whl"),
            value.replace("https://files.pythonhosted.org", "https://files.pythonhosted.org.evil.example"),
            value.replace("-py3-", "-py2-"), value + "/", value.replace("1", "2", 1), value[:-1], " " + value,
            value.replace("/", "%2F"), value.replace(".", "%2E"),
        ])  # fmt: skip
    elif key == "wheels" and isinstance(value, list) and value:
        rng.shuffle(value)
        first = value[0]
        if isinstance(first, dict) and "url" in first and rng.random() < 0.5:
            first.pop("name", None)
    elif key == "packages" and isinstance(value, list) and value:
        value.append(copy.deepcopy(rng.choice(value)))
    else:
        table[key] = copy.deepcopy(rng.choice(list(table.values())))


# ---------------------------------------------------------------------------------------------
# the properties


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_files_read_as_pip_reads_them(path: Path) -> None:
    assert check_document(path.read_text(encoding="utf-8")) == "read"


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@seed(int(os.environ.get("PINWARDEN_FUZZ_SEED", "20261202")))
@given(case=st.integers(0, 2**64))
def test_generated_documents_are_read_as_pip_reads_them_or_refused(case: int) -> None:
    OUTCOMES["generated-" + check_document(generated(case))] += 1


@settings(SETTINGS, max_examples=max(EXAMPLES * 2 // 5, 50))
@seed(int(os.environ.get("PINWARDEN_FUZZ_SEED", "20261202")))
@given(case=st.integers(0, 2**64))
def test_mutated_corpus_documents_are_read_as_pip_reads_them_or_refused(case: int) -> None:
    OUTCOMES["mutated-" + check_document(mutated(case))] += 1


def test_the_generators_reach_both_outcomes() -> None:
    """Run after the properties: a generator that only ever makes refused (or read) documents tests
    nothing."""
    if not OUTCOMES:
        pytest.skip("run together with the properties")
    for outcome in ("generated-read", "generated-refused", "mutated-read", "mutated-refused"):
        assert OUTCOMES[outcome] >= min(EXAMPLES // 20, 20), OUTCOMES


def test_the_oracle_is_pips_own_packaging() -> None:
    """pip vendors packaging; its pylock module and the installed one must agree on the corpus, so
    that the installed one stands for what pip runs (differences would be listed here)."""
    from pip._vendor.packaging import pylock as vendored

    for path in CORPUS:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        ours, pips = pylock.Pylock.from_dict(data), vendored.Pylock.from_dict(data)
        assert [(p.name, str(p.version)) for p in ours.packages] == [
            (p.name, str(p.version)) for p in pips.packages
        ]
        assert normalize_name("MarkupSafe") == "markupsafe"
