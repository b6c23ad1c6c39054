"""uv.lock reader: lock version 1 in every revision uv writes, every source kind, real files, located
problems. What uv itself reads from the same files is tests/test_uv_lock_differential.py's part."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinwarden.shared.errors import InputError
from pinwarden.shared.locks import lock_format, parse_lock, parse_lock_bytes
from pinwarden.shared.locks.poetry_lock import parse_poetry_lock
from pinwarden.shared.locks.requirements import parse_requirements
from pinwarden.shared.locks.uv_lock import DYNAMIC_VERSION, MAX_REVISION, parse_uv_lock
from pinwarden.shared.model import FileHash, LockedFile, LockedRelease, SourceKind, canonical_version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

DATA = Path(__file__).parent / "data" / "uv-locks"

# (file, revision, packages, hashes) as SOURCES.tsv gives them.
REAL = [
    ("samuelcolvin__pytest-pretty__uv.lock", 2, 14, 72),
    ("astral-sh__uv-fastapi-example__uv.lock", None, 35, 174),
    ("pallets__flask__uv@5e621a2.lock", 3, 81, 865),
    ("NVIDIA__NeMo-RL__uv.lock", 1, 308, 2080),
    ("huggingface__lerobot__uv.lock", 3, 333, 3276),
    ("modelcontextprotocol__python-sdk__uv.lock", 3, 131, 1213),
    ("pydantic__pydantic-ai__uv@0972f4e.lock", 2, 256, 2988),
]
PYPI = "https://pypi.org/simple"


def sha(tag: str, algorithm: str = "sha256") -> str:
    return f"{algorithm}:" + hashlib.new(algorithm, tag.encode()).hexdigest()


H1, H2, H3 = sha("one"), sha("two"), sha("three")
UPPER = "sha256:" + H1[7:].upper()
UPLOADED = 'upload-time = "2024-01-01T00:00:00Z"'
KINDS = "registry, git, url, path, directory, editable, virtual"


def read(name: str) -> Any:
    return parse_uv_lock((DATA / name).read_text(encoding="utf-8"), name)


def release(lock: Any, name: str, version: str | None = None) -> LockedRelease:
    found = [r for r in lock.releases if r.name == name and (version is None or r.version == version)]
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------------------------------------
# real files


def test_sources_tsv_names_every_copied_lock() -> None:
    rows = (DATA / "SOURCES.tsv").read_text().splitlines()[1:]
    listed = {row.split("\t")[0]: row.split("\t") for row in rows}
    assert sorted(listed) == sorted(name for name, *_ in REAL) == sorted(p.name for p in DATA.glob("*.lock"))
    for name, _, packages, hashes in REAL:
        assert (int(listed[name][5]), int(listed[name][6])) == (packages, hashes)


@pytest.mark.parametrize(("name", "revision", "packages", "hashes"), REAL, ids=lambda v: str(v)[:24])
def test_real_lock_counts(name: str, revision: int | None, packages: int, hashes: int) -> None:
    assert f"revision = {revision}\n" in (DATA / name).read_text() or revision is None
    lock = read(name)
    assert lock.format == "uv.lock"
    assert len(lock.releases) == packages
    files = [f for r in lock.releases for f in r.files]
    assert len(files) == hashes
    assert all(f.hash.strong and f.filename for f in files)
    # Every registry file has its URL; its size where the index gave one (the PyTorch index gives none).
    registry = [f for r in lock.releases if r.source_kind is SourceKind.INDEX for f in r.files]
    assert all(f.url for f in registry)
    assert sum(f.size is None for f in registry) == (20 if "lerobot" in name else 0)


def test_several_registries_and_versions_of_one_name() -> None:
    """lerobot: torch locked from PyPI and from the PyTorch index under other markers, each its own
    release; percent-encoded filenames read as uv decodes them; every file's upload time."""
    lock = read("huggingface__lerobot__uv.lock")
    assert lock.index_urls == ("https://download.pytorch.org/whl/cu128", PYPI)
    torch = [r for r in lock.releases if r.name == "torch"]
    assert {(r.version, r.source_url) for r in torch} == {
        ("2.11", PYPI),
        ("2.11+cu128", "https://download.pytorch.org/whl/cu128"),
    }
    cuda = release(lock, "torch", "2.11+cu128")
    (wheel,) = [f for f in cuda.files if f.filename.endswith("cp312-cp312-manylinux_2_28_x86_64.whl")]
    assert wheel.filename == "torch-2.11.0+cu128-cp312-cp312-manylinux_2_28_x86_64.whl"
    assert wheel.url is not None and wheel.url.endswith(
        "/torch-2.11.0%2Bcu128-cp312-cp312-manylinux_2_28_x86_64.whl"
    )
    assert all(f.upload_time for r in lock.releases for f in r.files)
    assert len({r.name for r in lock.releases if sum(x.name == r.name for x in lock.releases) > 1}) == 3


def test_git_source_is_its_commit() -> None:
    """NeMo-RL (revision 1): a git source pins its commit as poetry_lock's does (`rev=`: how it was asked)."""
    lock = read("NVIDIA__NeMo-RL__uv.lock")
    run = release(lock, "nemo-run")
    assert (run.source_kind, run.source_url) == (SourceKind.GIT, "https://github.com/NVIDIA/NeMo-Run")
    assert run.source_reference == "414f0077c648fde2c71bb1186e97ccbf96d6844c"
    assert run.files == ()
    assert (
        run.source_identity
        == "git+https://github.com/NVIDIA/NeMo-Run@414f0077c648fde2c71bb1186e97ccbf96d6844c"
    )
    # A mixed lock: only 4 files carry an upload time.
    assert sum(1 for r in lock.releases for f in r.files if f.upload_time) == 4


def test_path_source_is_a_local_file() -> None:
    """pydantic-ai (revision 2): a local wheel, `filename` and hash, no URL nor size."""
    dbos = release(read("pydantic__pydantic-ai__uv@0972f4e.lock"), "dbos")
    assert dbos.source_kind is SourceKind.FILE
    assert dbos.source_url == "dbos-1.13.0a2+g4b56355-py3-none-any.whl"
    assert (dbos.version, dbos.locked_as) == ("1.13a2+g4b56355", "1.13.0a2+g4b56355")
    (wheel,) = dbos.files
    assert (wheel.filename, wheel.url, wheel.size, wheel.upload_time) == (
        "dbos-1.13.0a2+g4b56355-py3-none-any.whl",
        None,
        None,
        None,
    )


def test_workspace_members_and_source_trees_are_directories() -> None:
    """python-sdk: 17 workspace members (16 editable, 1 virtual), two with a dynamic version."""
    lock = read("modelcontextprotocol__python-sdk__uv.lock")
    trees = {r.name: r for r in lock.releases if r.source_kind is SourceKind.DIRECTORY}
    assert len(trees) == 17
    assert trees["mcp"].source_url == "." and trees["mcp"].version == DYNAMIC_VERSION
    assert trees["mcp-types"].source_identity == "directory:src/mcp-types"
    assert all(r.files == () for r in trees.values())
    flask = read("pallets__flask__uv@5e621a2.lock")
    werkzeug = release(flask, "werkzeug")
    assert (werkzeug.source_kind, werkzeug.source_url, werkzeug.version) == (
        SourceKind.DIRECTORY,
        "../werkzeug",
        "3.2.dev0",
    )
    assert len([r for r in flask.releases if r.name == "sphinx"]) > 1
    fastapi = read("astral-sh__uv-fastapi-example__uv.lock")  # no revision: the oldest layout
    assert release(fastapi, "uv-fastapi-example").source_url == "."
    assert not any(f.upload_time for r in fastapi.releases for f in r.files)


def test_same_values_as_the_other_readers() -> None:
    """One package locked by Poetry, pip-compile and uv gives one LockedRelease (url, size and upload
    time are metadata, not identity); the version in its canonical spelling."""
    wheel, sdist = "demo-1.0.0-py3-none-any.whl", "demo-1.0.0.tar.gz"
    uv = lock(
        package(
            "Demo",
            "1.0.0",
            sdist=f'{{ url = "https://files.example/{sdist}", hash = "{H1}", size = 10 }}',
            wheels=[f'{{ url = "https://files.example/{wheel}", hash = "{H2}", size = 9, {UPLOADED} }}'],
        )
    )
    poetry = (
        '[[package]]\nname = "demo"\nversion = "1.0"\ndescription = ""\noptional = false\n'
        f'python-versions = "*"\ngroups = ["main"]\nfiles = [{{file = "{sdist}", hash = "{H1}"}},'
        f' {{file = "{wheel}", hash = "{H2}"}}]\n\n'
        '[metadata]\nlock-version = "2.1"\npython-versions = "*"\ncontent-hash = "x"\n'
    )
    (from_uv,) = parse_uv_lock(uv, "x").releases
    (from_poetry,) = parse_poetry_lock(poetry, "x").releases
    assert from_uv.files == from_poetry.files
    assert (from_uv.name, from_uv.version, from_uv.source_kind) == (
        from_poetry.name,
        from_poetry.version,
        SourceKind.INDEX,
    )
    (pinned,) = parse_requirements(f"demo==1.0 --hash={H1}\n", "x").releases
    assert pinned.key == from_uv.key
    assert from_uv.files[1] == LockedFile(wheel, FileHash.parse(H2))
    assert (from_uv.files[1].url, from_uv.files[1].size, from_uv.files[1].upload_time) == (
        f"https://files.example/{wheel}",
        9,
        "2024-01-01T00:00:00Z",
    )


def test_plain_versions_need_no_packaging_import() -> None:
    """The hot path of `check` on a lock of plain versions does not import packaging."""
    code = (
        "import sys; from pinwarden.shared.locks import parse_lock_bytes; "
        f"lock = parse_lock_bytes(open({str(DATA / REAL[0][0])!r}, 'rb').read(), 'uv.lock'); "
        "assert len(lock.releases) == 14; "
        "print(sorted(m for m in sys.modules if m.startswith('packaging')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# generated text


def lock(*packages: str, head: str = 'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n') -> str:
    return head + "".join(packages)


def package(
    name: str = "demo",
    version: str | None = "1.0",
    source: str = f'{{ registry = "{PYPI}" }}',
    *,
    sdist: str | None = None,
    wheels: list[str] | None = None,
    extra: str = "",
) -> str:
    text = f"\n[[package]]\nname = {json.dumps(name)}\n"
    text += f"version = {json.dumps(version)}\n" if version is not None else ""
    text += f"source = {source}\n" + extra
    if sdist is not None:
        text += f"sdist = {sdist}\n"
    if wheels is not None:
        text += "wheels = [\n" + "".join(f"    {w},\n" for w in wheels) + "]\n"
    return text


def wheel(filename: str = "demo-1.0-py3-none-any.whl", digest: str = H1, more: str = "") -> str:
    return f'{{ url = "https://files.pythonhosted.org/packages/ab/{filename}", hash = "{digest}"{more} }}'


def problems_of(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        parse_uv_lock(text, "uv.lock")
    assert info.value.what == "uv.lock"
    return [str(p) for p in info.value.problems]


def one_problem(text: str) -> str:
    found = problems_of(text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("revision", [None, 0, 1, 2, 3, 4, 5])
def test_every_revision_uv_writes_reads_the_same(revision: int | None) -> None:
    head = (
        "version = 1\n"
        + (f"revision = {revision}\n" if revision is not None else "")
        + 'requires-python = ">=3"\n'
    )
    (got,) = parse_uv_lock(lock(package(wheels=[wheel()]), head=head), "uv.lock").releases
    assert got.files == (LockedFile("demo-1.0-py3-none-any.whl", FileHash.parse(H1)),)


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ("version = 2\nrevision = 1\n", "version: unsupported lock version 2: uv reads only version 1"),
        ('version = "1"\n', "version: unsupported lock version '1': uv reads only version 1"),
        ("version = 1.0\n", "version: unsupported lock version 1.0: uv reads only version 1"),
        ("version = true\n", "version: unsupported lock version True: uv reads only version 1"),
        ("revision = 1\n", "version: missing: this does not look like a uv.lock"),
        (
            f"version = 1\nrevision = {MAX_REVISION + 1}\n",
            "revision: revision 6 is newer than pinwarden reads (up to 5): upgrade pinwarden",
        ),
        ("version = 1\nrevision = -1\n", "revision: -1 is not a revision number"),
        ('version = 1\nrevision = "3"\n', "revision: '3' is not a revision number"),
    ],
)
def test_unknown_schema_is_refused_before_anything_else(head: str, message: str) -> None:
    """A lock uv refuses, or one a newer uv wrote, is one problem: nothing in it is read as a guess."""
    assert one_problem(lock(package(wheels=['"broken"']), head=head + 'requires-python = ">=3"\n')) == message


def test_not_toml_is_one_located_problem() -> None:
    assert one_problem('version = 1\nrequires-python = ">=3"\n[[package]\n').startswith("line 3, column")


def test_every_problem_is_reported() -> None:
    text = lock(
        package("a", wheels=[wheel("a-1.0-py3-none-any.whl", UPPER)]),
        package("b", version="one point oh"),
        package("c", source='{ registry = "x", git = "y" }'),
        package("d", wheels=[wheel("d-1.0-py3-none-any.whl", "md5")], sdist="[1]"),
        head="version = 1\n",
    )
    assert problems_of(text) == [
        "requires-python: missing or not a string (uv refuses the lock)",
        f"package[0].wheels[0].hash: '{UPPER}' is not written as uv compares it ({H1})",
        "package[1].version: 'one point oh' is not a PEP 440 version",
        f"package[2].source: must name exactly one of {KINDS} (found: registry, git)",
        "package[3].sdist: must be a table",
    ]


def test_old_names_are_read_as_uv_reads_them() -> None:
    """`[[distribution]]` (uv 0.2) and `upload_time` are aliases uv still reads; both at once it refuses."""
    text = lock(package(wheels=[wheel(more=', upload_time = "2024-05-06T07:08:09.1Z"')]))
    (got,) = parse_uv_lock(text.replace("[[package]]", "[[distribution]]"), "uv.lock").releases
    assert got.files[0].upload_time == "2024-05-06T07:08:09.1Z"
    both = text + package("other").replace("[[package]]", "[[distribution]]")
    assert (
        one_problem(both)
        == "distribution: both [[package]] and its old name [[distribution]] (uv refuses the lock)"
    )
    twice = lock(
        package(
            wheels=[
                wheel(more=', upload_time = "2024-05-06T07:08:09Z", upload-time = "2024-05-06T07:08:09Z"')
            ]
        )
    )
    assert (
        one_problem(twice)
        == "package[0].wheels[0].upload-time: given twice (also as upload_time): uv refuses the lock"
    )


def test_sources_of_every_kind() -> None:
    commit, host = "a" * 40, "https://host.example"
    direct, directsdist = f"{host}/direct-1.0-py3-none-any.whl", f"{host}/d/directsdist-1.0.tar.gz"
    text = lock(
        package(
            "reg",
            source='{ registry = "https://mirror.example/simple/" }',
            sdist=f'{{ url = "https://mirror.example/f/reg-1.0.tar.gz", hash = "{H1}", size = 5 }}',
        ),
        package(
            "vcs",
            source=f'{{ git = "https://g.example/vcs?tag=v1&subdirectory=s&lfs=true#{commit.upper()}" }}',
        ),
        package(
            "direct", source=f'{{ url = "{direct}" }}', wheels=[f'{{ url = "{direct}", hash = "{H2}" }}']
        ),
        package(
            "directsdist",
            source=f'{{ url = "{directsdist}", subdirectory = "pkg" }}',
            sdist=f'{{ hash = "{H3}" }}',
        ),
        package(
            "localwheel",
            source='{ path = "wheels/localwheel-1.0-py3-none-any.whl" }',
            wheels=[f'{{ filename = "localwheel-1.0-py3-none-any.whl", hash = "{H1}" }}'],
        ),
        package("localsdist", source='{ path = "../localsdist-1.0.tar.gz" }', sdist=f'{{ hash = "{H2}" }}'),
        package("tree", source='{ directory = "../tree" }'),
        package("edit", version=None, source='{ editable = "libs/edit" }'),
        package("root", source='{ virtual = "." }'),
        package(
            "findlinks",
            source='{ registry = "../wheels" }',
            wheels=[f'{{ path = "findlinks-1.0-py3-none-any.whl", hash = "{H3}" }}'],
        ),
    )
    got = parse_uv_lock(text, "uv.lock")
    summary = {
        r.name: (r.source_kind.value, r.source_url, r.source_reference, r.version,
                 [(f.filename, f.url, str(f.hash)) for f in r.files])
        for r in got.releases
    }  # fmt: skip
    assert summary == {
        "reg": ("index", "https://mirror.example/simple/", None, "1",
                [("reg-1.0.tar.gz", "https://mirror.example/f/reg-1.0.tar.gz", H1)]),
        "vcs": ("git", "https://g.example/vcs?subdirectory=s&lfs=true", commit, "1", []),
        "direct": ("url", direct, None, "1", [("direct-1.0-py3-none-any.whl", direct, H2)]),
        "directsdist": ("url", directsdist, None, "1", [("directsdist-1.0.tar.gz", directsdist, H3)]),
        "localwheel": ("file", "wheels/localwheel-1.0-py3-none-any.whl", None, "1",
                       [("localwheel-1.0-py3-none-any.whl", None, H1)]),
        "localsdist": ("file", "../localsdist-1.0.tar.gz", None, "1", [("localsdist-1.0.tar.gz", None, H2)]),
        "tree": ("directory", "../tree", None, "1", []),
        "edit": ("directory", "libs/edit", None, DYNAMIC_VERSION, []),
        "root": ("directory", ".", None, "1", []),
        "findlinks": ("index", "../wheels", None, "1", [("findlinks-1.0-py3-none-any.whl", None, H3)]),
    }  # fmt: skip
    # Only registries that are URLs are indexes; a folder of files is not.
    assert got.index_urls == ("https://mirror.example/simple/",)


@pytest.mark.parametrize(
    ("url", "filename"),
    [
        ("https://h/x/demo-1.0-py3-none-any.whl", "demo-1.0-py3-none-any.whl"),
        ("https://h/x/demo-1.0%2Blocal-py3-none-any.whl", "demo-1.0+local-py3-none-any.whl"),
        ("https://h/x/demo-1.0-py3-none-any.whl?token=1", "demo-1.0-py3-none-any.whl"),
        ("https://h/x/demo-1.0-py3-none-any.whl#sha256=00", "demo-1.0-py3-none-any.whl"),
        (
            "https://h/x/demo-1.0-py3-none-any.whl#frag?q=1/x",
            "demo-1.0-py3-none-any.whl#frag",
        ),  # uv: "?" first
        ("https://h/x/demo-1.0-py3-none-any%zz.whl", "demo-1.0-py3-none-any%zz.whl"),  # not an escape
    ],
)
def test_filename_is_the_url_basename_as_uv_reads_it(url: str, filename: str) -> None:
    text = lock(package(wheels=[f'{{ url = "{url}", hash = "{H1}" }}']))
    if "#" in filename:
        assert (
            one_problem(text) == f"package[0].wheels[0].url: {url!r} does not end in a filename uv can read"
        )
        return
    (got,) = parse_uv_lock(text, "uv.lock").releases
    assert (got.files[0].filename, got.files[0].url) == (filename, url)


U = "https://h/demo-1.0-py3-none-any.whl"
W0 = "package[0].wheels[0]"
NOT_AS_UV = "is not a time as uv writes it (YYYY-MM-DDTHH:MM:SSZ)"


def entry(**fields: str) -> str:
    """An inline table of a file: values as TOML text, `url` and `hash` quoted unless given."""
    fields = {"url": json.dumps(U), "hash": json.dumps(H1), **fields}
    return "{ " + ", ".join(f"{k} = {v}" for k, v in fields.items() if v) + " }"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (entry(hash=""), "hash: missing or not a string: uv would install the file unchecked"),
        (entry(hash=f'"{H1[7:]}"'), f"hash: '{H1[7:]}' is not of the form algorithm:hex"),
        (entry(hash=f'"blake2b:{"0" * 128}"'),
         f"hash: 'blake2b:{'0' * 128}' uses an unknown hash algorithm 'blake2b'"),
        (entry(hash='"sha256:abc"'), "hash: 'sha256:abc' is not a sha256 digest (64 hex digits)"),
        (entry(hash=f'"{UPPER}"'), f"hash: '{UPPER}' is not written as uv compares it ({H1})"),
        (entry(size='"9"'), "size: '9' is not a size in bytes"),
        (entry(size="true"), "size: True is not a size in bytes"),
        (entry(size="-1"), "size: -1 is not a size in bytes"),
        (entry(**{"upload-time": '"2024-13-01T00:00:00Z"'}),
         f"upload-time: '2024-13-01T00:00:00Z' {NOT_AS_UV}"),
        (entry(**{"upload-time": '"2024-01-01T00:00:00+00:00"'}),
         f"upload-time: '2024-01-01T00:00:00+00:00' {NOT_AS_UV}"),
        (entry(**{"upload-time": "2024-01-01T00:00:00Z"}),
         f"upload-time: datetime.datetime(2024, 1, 1, 0, 0, tzinfo=datetime.timezone.utc) {NOT_AS_UV}"),
        (entry(zstd=f'{{ hash = "{H2}" }}'),
         "zstd: a zstd twin, whose hash uv also accepts: pinwarden cannot read it yet"),
        (entry(url="", path=json.dumps(U[10:])),
         ": no `url`: uv cannot install this file from a registry source"),
        (entry(url="", filename=json.dumps(U[10:])),
         ": no `url`: uv cannot install this file from a registry source"),
        (entry(url='"../demo-1.0-py3-none-any.whl"'),
         "url: '../demo-1.0-py3-none-any.whl' is not an http(s) or file URL"),
        (entry(url='"https://h/demo-2.0-py3-none-any.whl"'),
         ": demo-2.0-py3-none-any.whl is not a wheel of version 1 (uv refuses the lock)"),
        (entry(url='"https://h/demo-1.0.tar.gz"'),
         ": demo-1.0.tar.gz is not a wheel of version 1 (uv refuses the lock)"),
        (entry(url='"https://h/demo%2F1.0.whl"'),
         "url: 'https://h/demo%2F1.0.whl' does not end in a filename uv can read"),
        (entry(url='"https://h/demo-1.0%FF.whl"'),
         "url: 'https://h/demo-1.0%FF.whl' does not end in a filename uv can read"),
        (json.dumps(U), ": must be a table"),
    ],
)  # fmt: skip
def test_bad_file_entries_are_refused(text: str, message: str) -> None:
    where = W0 if message.startswith(":") else f"{W0}."
    assert one_problem(lock(package(wheels=[text]))) == f"{where}{message}"


@pytest.mark.parametrize(
    ("version", "wheel_version", "ok"),
    [
        ("1.0", "1.0.0", True),
        ("1.0+local", "1.0+local", True),
        ("1.0", "1.0+local", True),
        ("1.0+local", "1.0", False),
    ],
)
def test_wheel_version_is_checked_as_uv_checks_it(version: str, wheel_version: str, ok: bool) -> None:
    """uv refuses a lock whose wheel is of another version than its package, a local label aside."""
    text = lock(package(version=version, wheels=[wheel(f"demo-{wheel_version}-py3-none-any.whl")]))
    if ok:
        assert (
            parse_uv_lock(text, "uv.lock").releases[0].files[0].filename
            == f"demo-{wheel_version}-py3-none-any.whl"
        )
    else:
        assert "is not a wheel of version" in one_problem(text)


@pytest.mark.parametrize(
    ("second", "refused"),
    [
        (package(version="1.0.0", wheels=[wheel(digest=H2)]), True),  # equal versions, one source
        (package(version="v1.0", wheels=[wheel(digest=H2)]), True),
        (package(name="Demo", wheels=[wheel(digest=H2)]), True),
        (package(source='{ registry = "https://other.example/simple" }', wheels=[wheel(digest=H2)]), False),
        (package(version="2.0"), False),
    ],
)
def test_one_package_locked_twice_is_refused_as_uv_refuses_it(second: str, refused: bool) -> None:
    text = lock(package(wheels=[wheel()]), second)
    if refused:
        assert one_problem(text).startswith(
            "package[1]: demo 1 is locked twice (also package[0]): uv refuses"
        )
    else:
        assert len(parse_uv_lock(text, "uv.lock").releases) == 2


def test_source_trees_locked_twice_compare_by_path() -> None:
    text = lock(
        package(version=None, source='{ editable = "a" }'),
        package(version=None, source='{ editable = "./a/" }'),
    )
    assert (
        one_problem(text)
        == "package[1]: demo unversioned is locked twice (also package[0]): uv refuses the lock"
    )


def test_two_files_of_one_name_are_refused() -> None:
    text = lock(package(wheels=[wheel(), wheel(digest=H2).replace("/ab/", "/cd/")]))
    assert (
        one_problem(text) == "package[0]: two files named demo-1.0-py3-none-any.whl: uv installs one of them"
    )


@pytest.mark.parametrize(
    ("source", "files", "message"),
    [
        (
            "{}",
            "",
            f"package[0].source: must name exactly one of {KINDS} (found: none)",
        ),
        ('"https://pypi.org/simple"', "", "package[0].source: missing or not a table"),
        (
            f'{{ registry = "{PYPI}", subdirectory = "x" }}',
            "",
            "package[0].source: unexpected key(s) subdirectory beside registry",
        ),
        ("{ registry = 1 }", "", "package[0].source.registry: not a non-empty string"),
        (
            '{ url = "ftp://h/demo-1.0.tar.gz" }',
            "",
            "package[0].source.url: 'ftp://h/demo-1.0.tar.gz' is not an http(s) or file URL",
        ),
        (
            '{ git = "https://g/r" }',
            "",
            "package[0].source.git: 'https://g/r' does not end in #<commit> (40 hex digits) as uv requires",
        ),
        (
            '{ git = "https://g/r#abc" }',
            "",
            "package[0].source.git: 'https://g/r#abc' does not end in #<commit> (40 hex digits)"
            " as uv requires",
        ),
        (
            f'{{ git = "https://g/r?rev={"b" * 40}#{"a" * 40}" }}',
            "",
            f"package[0].source.git: rev={'b' * 40} is not the locked commit {'a' * 40}"
            " (uv refuses the lock)",
        ),
        (
            f'{{ git = "https://g/r?path=dist/x.whl#{"a" * 40}" }}',
            "",
            "package[0].source.git: a file inside a git repository (`path=`): pinwarden cannot read it yet",
        ),
        (
            f'{{ git = "https://g/r?subdirectory=a&subdirectory=b#{"a" * 40}" }}',
            "",
            "package[0].source.git: subdirectory given twice: uv takes the last one",
        ),
        (
            f'{{ git = "https://g/r#{"a" * 40}" }}',
            f'sdist = {{ hash = "{H1}" }}\n',
            "package[0]: a git source has no sdist nor wheels in a lock uv writes",
        ),
        (
            '{ editable = "." }',
            f"wheels = [{wheel()}]\n",
            "package[0]: a editable source has no sdist nor wheels in a lock uv writes",
        ),
        (
            '{ url = "https://h/demo-1.0-py3-none-any.whl" }',
            f'sdist = {{ hash = "{H1}" }}\n',
            "package[0].sdist: the url source is a wheel, not an sdist",
        ),
        (
            '{ url = "https://h/demo-1.0.tar.gz" }',
            "",
            "package[0]: no sdist nor wheel entry with the hash of the url source's file",
        ),
        (
            '{ path = "demo-1.0-py3-none-any.whl" }',
            "wheels = []\n",
            "package[0]: no sdist nor wheel entry with the hash of the path source's file",
        ),
        (
            '{ url = "https://h/demo-1.0.tar.gz" }',
            f"wheels = [{wheel()}]\n",
            "package[0].wheels: the url source is no wheel",
        ),
        (
            '{ url = "https://h/demo-1.0-py3-none-any.whl" }',
            f"wheels = [{wheel()}]\n",
            "package[0].wheels[0].url: not the source's URL, which uv downloads instead",
        ),
        (
            '{ url = "https://h/demo-1.0.tar.gz" }',
            f'sdist = {{ url = "https://h/other.tar.gz", hash = "{H1}" }}\n',
            "package[0].sdist: a url source's sdist names no location in a lock uv writes",
        ),
        ('{ url = "https://h/" }', "", "package[0].source: 'https://h/' does not end in a filename"),
        (
            '{ path = "demo-1.0-py3-none-any.whl" }',
            f'wheels = [{{ filename = "demo-2.0-py3-none-any.whl", hash = "{H1}" }}]\n',
            "package[0].wheels[0].filename: 'demo-2.0-py3-none-any.whl' is not the name of the source's file"
            " 'demo-1.0-py3-none-any.whl'",
        ),
        (
            '{ path = "demo-1.0-py3-none-any.whl" }',
            f"wheels = [{wheel()}]\n",
            "package[0].wheels[0]: a path wheel has a `filename` and no `url` nor `path` in a lock uv writes",
        ),
        (
            f'{{ registry = "{PYPI}" }}',
            f'sdist = {{ hash = "{H1}" }}\n',
            "package[0].sdist: no `url`: uv cannot install this file from a registry source",
        ),
    ],
)
def test_bad_sources_are_refused(source: str, files: str, message: str) -> None:
    assert one_problem(lock(package(source=source, extra=files))) == message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ('name = "demo"\nversion = "1.0"\n', "package[0].source: missing or not a table"),
        (
            f'version = "1.0"\nsource = {{ registry = "{PYPI}" }}\n',
            "package[0].name: missing or not a string",
        ),
        (
            f'name = "-demo"\nversion = "1.0"\nsource = {{ registry = "{PYPI}" }}\n',
            "package[0].name: '-demo' is not a valid project name",
        ),
        (
            f'name = "demo"\nsource = {{ registry = "{PYPI}" }}\n',
            "package[0].version: missing (uv locks a version for every registry source)",
        ),
        (
            f'name = "demo"\nversion = 1\nsource = {{ registry = "{PYPI}" }}\n',
            "package[0].version: not a string",
        ),
        (
            f'name = "demo"\nversion = " 1.0"\nsource = {{ registry = "{PYPI}" }}\n',
            "package[0].version: ' 1.0' is not a PEP 440 version",
        ),
        (
            f'name = "demo"\nversion = "1.0"\nsource = {{ registry = "{PYPI}" }}\nwheels = {{}}\n',
            "package[0].wheels: must be an array of tables",
        ),
    ],
)
def test_bad_packages_are_refused(fields: str, message: str) -> None:
    assert one_problem(lock("\n[[package]]\n" + fields)) == message


def test_package_must_be_tables() -> None:
    assert one_problem(lock("package = 3\n")) == "package: must be an array of tables"
    assert one_problem(lock("package = [3]\n")) == "package[0]: must be a table"


# ---------------------------------------------------------------------------------------------
# any input: a LockFile or an InputError, nothing else

_KEYS = ["url", "hash", "registry", "git", "path", "filename", "size", "x"]
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=30), st.sampled_from(["1.0", H1, "https://h/demo-1.0-py3-none-any.whl", "sha256:", "."]),
)  # fmt: skip
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=3)
    ),
    max_leaves=8,
)  # fmt: skip
_FIELDS = ["name", "version", "source", "sdist", "wheels", "resolution-markers"]


def _toml(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string, or invalid TOML
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=5))
def test_any_package_is_read_or_refused_with_an_input_error(fields: dict[str, Any]) -> None:
    base = {
        "name": "demo",
        "version": "1.0",
        "source": {"registry": PYPI},
        "wheels": [{"url": "https://h/demo-1.0-py3-none-any.whl", "hash": H1}],
    }
    entry = {**base, **fields}
    text = 'version = 1\nrequires-python = ">=3"\n\n[[package]]\n' + "".join(
        f"{json.dumps(k)} = {_toml(v)}\n" for k, v in entry.items()
    )
    try:
        parse_uv_lock(text, "uv.lock")
    except InputError as exc:
        assert exc.problems


# ---------------------------------------------------------------------------------------------
# dispatch


@pytest.mark.parametrize(
    ("name", "kind"), [("uv.lock", "uv.lock"), ("sub/uv.lock", "uv.lock"), ("poetry.lock", "poetry.lock")]
)
def test_lock_format_names_uv_lock(name: str, kind: str) -> None:
    assert lock_format(name, b"") == kind


def test_parse_lock_and_bytes_read_uv_lock() -> None:
    data = (DATA / REAL[0][0]).read_bytes()
    lock = parse_lock_bytes(data, "sub/uv.lock")
    assert lock == parse_lock(data.decode(), "sub/uv.lock")
    assert (lock.format, lock.index_urls, len(lock.releases)) == ("uv.lock", (PYPI,), 14)
    assert parse_lock_bytes(data, "label", name="uv.lock").format == "uv.lock"
    crlf = parse_lock_bytes(data.replace(b"\n", b"\r\n"), "uv.lock")
    assert crlf.releases == parse_lock_bytes(data, "uv.lock").releases


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'version = 1\nrequires-python = "\xff"\n',
            "uv.lock is not a valid uv.lock: not UTF-8 (invalid start byte at byte 31): uv cannot read it",
        ),
        (
            b"\xef\xbb\xbfversion = 1\n",
            "uv.lock is not a valid uv.lock: line 1, column 1: invalid TOML: Invalid statement",
        ),
    ],
)
def test_bytes_are_strict_utf8(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_lock_bytes(data, "uv.lock")
    assert str(info.value) == message


@pytest.mark.parametrize("name", [r[0] for r in REAL], ids=lambda v: v[:24])
def test_fast_reading_of_registry_files_is_the_full_reading(name: str) -> None:
    """`_fast_file` reads the common registry file in one go; on every real file it reads, it gives
    what the full reading gives (url, size and upload time too), and it reads nearly all of them."""
    from pinwarden.shared.locks import uv_lock

    doc = tomllib.loads((DATA / name).read_text(encoding="utf-8"))
    fast = total = 0
    for package in doc["package"]:
        source = uv_lock._read_source(package["source"], "source")
        if source.uv_kind != "registry":
            continue
        version = canonical_version(package["version"])
        entries = [(package["sdist"], None)] if "sdist" in package else []
        entries += [(w, version) for w in package.get("wheels", [])]
        for entry, wheel_version in entries:
            total += 1
            quick = uv_lock._fast_file(entry, wheel_version)
            if quick is None:
                continue
            fast += 1
            if wheel_version is None:
                full = uv_lock._sdist(entry, source, "sdist")
            else:
                full = uv_lock._wheel(entry, source, wheel_version, "wheel")
            assert (quick, quick.url, quick.size, quick.upload_time) == (
                full,
                full.url,
                full.size,
                full.upload_time,
            )
    assert fast >= total * 0.99 > 0


@pytest.mark.parametrize(
    "changed",
    [
        {"hash": UPPER}, {"hash": sha("x", "md5")}, {"url": "https://h/demo-1.0-py3-none-any.whl?x"},
        {"url": "https://h/demo%2D1.0-py3-none-any.whl"}, {"url": "https://h/"}, {"size": True}, {"size": -1},
        {"upload-time": "2024-02-30T00:00:00Z"}, {"upload_time": "2024-01-01T00:00:00Z"}, {"zstd": {}},
        {"url": "https://h/demo-2.0-py3-none-any.whl"}, {"url": "ftp://h/demo-1.0-py3-none-any.whl"},
    ],
)  # fmt: skip
def test_fast_reading_leaves_anything_else_to_the_full_reading(changed: dict[str, Any]) -> None:
    from pinwarden.shared.locks import uv_lock

    entry = {
        "url": "https://h/demo-1.0-py3-none-any.whl",
        "hash": H1,
        "size": 1,
        "upload-time": "2024-01-01T00:00:00Z",
    }
    assert uv_lock._fast_file(entry, "1") is not None
    assert uv_lock._fast_file({**entry, **changed}, "1") is None
