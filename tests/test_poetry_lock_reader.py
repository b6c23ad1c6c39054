"""poetry.lock reader: lock-version 1.1, 2.0 and 2.1, every source type, real files, located problems."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from pinwarden.shared.errors import InputError
from pinwarden.shared.filenames import belongs_to
from pinwarden.shared.locks import parse_lock, parse_poetry_lock
from pinwarden.shared.locks.poetry_lock import PYPI_SIMPLE
from pinwarden.shared.model import FileHash, LockedRelease, SourceKind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10 only
    import tomli as tomllib

DATA = Path(__file__).parent / "data" / "locks" / "poetry"
CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus" / "locks"

# (file, lock-version, package_count, hash_count) as /work/shared/corpus/locks/SOURCES.tsv gives them.
COPIED = [
    ("Textualize__rich-cli__poetry.lock", "2.1", 20, 82),
    ("Textualize__rich-cli__poetry@178c562.lock", "1.1", 23, 110),
    ("aws-powertools__powertools-lambda-python__layer__poetry.lock", "2.0", 28, 56),
    ("python-poetry__poetry__poetry.lock", "2.1", 78, 1105),
]
CORPUS_COUNTS = {
    "Textualize__rich-cli__poetry.lock": (20, 82),
    "Textualize__rich-cli__poetry@178c562.lock": (23, 110),
    "Textualize__toolong__poetry.lock": (21, 421),
    "aws-powertools__powertools-lambda-python__layer__poetry.lock": (28, 56),
    "aws-powertools__powertools-lambda-python__poetry.lock": (178, 1435),
    "freedomofpress__dangerzone__poetry@99f2321.lock": (42, 290),
    "python-poetry__poetry__poetry.lock": (78, 1105),
    "saleor__saleor__poetry@72b8c11.lock": (236, 1723),
    "strawberry-graphql__strawberry__poetry@124c77a.lock": (148, 1512),
}


def sha(tag: str) -> str:
    return "sha256:" + hashlib.sha256(tag.encode()).hexdigest()


def hashes_of(release: LockedRelease) -> list[str]:
    return [str(f.hash) for f in release.files]


# ---------------------------------------------------------------------------------------------
# real files


@pytest.mark.parametrize(("name", "lock_version", "packages", "hashes"), COPIED, ids=str)
def test_copied_real_lock_counts(name: str, lock_version: str, packages: int, hashes: int) -> None:
    text = (DATA / name).read_text(encoding="utf-8")
    assert tomllib.loads(text)["metadata"]["lock-version"] == lock_version
    lock = parse_poetry_lock(text, name)
    assert lock.path == name
    assert lock.format == "poetry.lock"
    assert len(lock.releases) == packages
    assert sum(len(r.files) for r in lock.releases) == hashes
    assert all(r.lockfile == name for r in lock.releases)
    # Every file belongs to the release it was given: in 1.1 too, where names share one list.
    for release in lock.releases:
        for locked in release.files:
            assert locked.filename is not None
            assert belongs_to(locked.filename, release.name, release.version) is None, locked
            assert locked.hash.strong


def test_real_lock_through_parse_lock_by_name_and_by_content() -> None:
    text = (DATA / "Textualize__rich-cli__poetry.lock").read_text(encoding="utf-8")
    assert parse_lock(text, "poetry.lock").format == "poetry.lock"
    # Not named *.lock: recognised by Poetry's header.
    assert parse_lock(text, "locked-deps").format == "poetry.lock"


def test_real_lock_git_package_keeps_its_commit() -> None:
    lock = parse_poetry_lock((DATA / "python-poetry__poetry__poetry.lock").read_text(encoding="utf-8"))
    by_name = {r.name: r for r in lock.releases}
    core = by_name["poetry-core"]
    assert core.version == "2.4.1"
    assert core.files == ()
    assert core.source_kind is SourceKind.GIT
    assert core.source_url == "https://github.com/python-poetry/poetry-core.git"
    assert core.source_reference == "e3998b0e111dc03e4aa721fd054c48e5c7de6fc5"
    assert core.source_identity == (
        "git+https://github.com/python-poetry/poetry-core.git@e3998b0e111dc03e4aa721fd054c48e5c7de6fc5"
    )
    others = [r for r in lock.releases if r.name != "poetry-core"]
    assert len(others) == 77
    assert {r.source_kind for r in others} == {SourceKind.INDEX}
    assert {r.source_url for r in others} == {PYPI_SIMPLE}
    assert all(r.files and r.source_identity is None for r in others)
    assert lock.index_urls == (PYPI_SIMPLE,)


def test_real_lock_1_1_reads_metadata_files() -> None:
    lock = parse_poetry_lock((DATA / "Textualize__rich-cli__poetry@178c562.lock").read_text(encoding="utf-8"))
    by_name = {r.name: r for r in lock.releases}
    assert [f.filename for f in by_name["zipp"].files] == ["zipp-3.8.0-py3-none-any.whl", "zipp-3.8.0.tar.gz"]
    assert by_name["zipp"].files[1].hash == FileHash(
        "sha256", "56bf8aadb83c24db6c4b577e13de374ccfb67da2078beba1d037c17980bf43ad"
    )


@pytest.mark.parametrize("name", sorted(CORPUS_COUNTS))
def test_whole_corpus_counts(name: str) -> None:
    path = CORPUS / "poetry" / name
    if not path.is_file():
        pytest.skip(f"corpus not present ({path})")
    lock = parse_poetry_lock(path.read_text(encoding="utf-8"), name)
    packages, hashes = CORPUS_COUNTS[name]
    assert len(lock.releases) == packages
    assert sum(len(r.files) for r in lock.releases) == hashes


# ---------------------------------------------------------------------------------------------
# lock-version 1.1: one list of files per name


LOCK_1_1 = f"""\
[[package]]
name = "urllib3"
version = "1.26.18"
description = "HTTP library"
category = "main"
optional = false
python-versions = ">=2.7"

[[package]]
name = "urllib3"
version = "2.0.7"
description = "HTTP library"
category = "main"
optional = false
python-versions = ">=3.7"

[[package]]
name = "Demo_Pkg"
version = "1.0"
description = ""
category = "dev"
optional = false
python-versions = "*"

[[package]]
name = "six"
version = "1.16"
description = ""
category = "main"
optional = false
python-versions = "*"

[metadata]
lock-version = "1.1"
python-versions = "^3.8"
content-hash = "0000"

[metadata.files]
urllib3 = [
    {{file = "urllib3-1.26.18-py2.py3-none-any.whl", hash = "{sha("u1w")}"}},
    {{file = "urllib3-1.26.18.tar.gz", hash = "{sha("u1s")}"}},
    {{file = "urllib3-2.0.7-py3-none-any.whl", hash = "{sha("u2w")}"}},
    {{file = "urllib3-2.0.7.tar.gz", hash = "{sha("u2s")}"}},
    {{file = "urllib3-setup.exe", hash = "{sha("uexe")}"}},
]
demo-pkg = [
    {{file = "Demo_Pkg-1.0.zip", hash = "{sha("demo")}"}},
]
six = [
    {{file = "six-1.16.0-py2.py3-none-any.whl", hash = "{sha("six")}"}},
]
"""


def test_1_1_two_versions_sharing_one_list_are_refused() -> None:
    """Poetry offers the whole list to each locked version: which file belongs to which is a guess."""
    problems = dict(problems_of(LOCK_1_1.replace('name = "Demo_Pkg"', 'name = "demo-pkg"')))
    assert list(problems) == ["metadata.files.urllib3"]
    assert "package[0] and package[1]" in problems["metadata.files.urllib3"]


def test_1_1_one_version_per_list_takes_the_whole_list() -> None:
    text = LOCK_1_1.replace('name = "urllib3"\nversion = "2.0.7"', 'name = "urllib4"\nversion = "2.0.7"')
    text = text.replace('name = "Demo_Pkg"', 'name = "demo-pkg"').replace("six = [", "urllib4 = []\nsix = [")
    by_key = {(r.name, r.version): r for r in parse_poetry_lock(text).releases}
    assert hashes_of(by_key["urllib3", "1.26.18"]) == [sha(t) for t in ("u1w", "u1s", "u2w", "u2s", "uexe")]
    assert by_key["urllib4", "2.0.7"].files == ()
    assert hashes_of(by_key["demo-pkg", "1"]) == [sha("demo")]
    assert hashes_of(by_key["six", "1.16"]) == [sha("six")]  # 1.16 locked, 1.16.0 in the filename
    assert {r.source_url for r in by_key.values()} == {PYPI_SIMPLE}


@pytest.mark.parametrize("locked", ["Demo_Pkg", "Demo-Pkg", "demo_pkg", "DEMO.PKG", "demo--pkg"])
def test_1_1_list_is_found_by_the_name_as_written(locked: str) -> None:
    """Poetry looks `[metadata.files]` up by the locked name unnormalized; another spelling is no list."""
    text = (
        f'[[package]]\nname = "{locked}"\nversion = "1.0"\n'
        '[metadata]\nlock-version = "1.1"\n[metadata.files]\n'
        f'demo-pkg = [{{file = "demo_pkg-1.0.tar.gz", hash = "{sha("d")}"}}]\n'
    )
    assert problems_of(text) == [
        ("package[0].files", f"missing, and [metadata.files] has no list named {locked!r}")
    ]
    exact = text.replace("demo-pkg = [", f'"{locked}" = [')
    (release,) = parse_poetry_lock(exact).releases
    assert hashes_of(release) == [sha("d")]


def test_1_1_package_without_metadata_entry_is_refused() -> None:
    text = '[[package]]\nname = "a"\nversion = "1"\n[metadata]\nlock-version = "1.1"\n[metadata.files]\n'
    assert [w for w, _ in problems_of(text)] == ["package[0].files"]
    # git, url and directory packages have no files in Poetry's reading: none are looked up.
    for kind in ("git", "url", "directory"):
        (release,) = parse_poetry_lock(
            text.replace('"1"\n', f'"1"\nsource = {{type = "{kind}", url = "u"}}\n')
        ).releases
        assert release.files == ()


# ---------------------------------------------------------------------------------------------
# lock-version 2.x: files per package, and every source type

INTERNAL = "https://pypi.internal.example/simple"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def lock_2(version: str) -> str:
    return f"""\
# This file is automatically @generated by Poetry 2.1.1 and should not be changed by hand.

[[package]]
name = "requests"
version = "2.32.3"
description = "Python HTTP for Humans."
optional = false
python-versions = ">=3.8"
groups = ["main"]
files = [
    {{file = "requests-2.32.3-py3-none-any.whl", hash = "{sha("rw")}"}},
    {{file = "requests-2.32.3.tar.gz", hash = "{sha("rs")}"}},
]

[package.dependencies]
urllib3 = ">=1.21.1,<3"

[package.extras]
socks = ["PySocks (>=1.5.6,!=1.5.7)"]

[[package]]
name = "internal-lib"
version = "0.4.0"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = [
    {{file = "internal_lib-0.4.0-py3-none-any.whl", hash = "{sha("iw")}"}},
]

[package.source]
type = "legacy"
url = "{INTERNAL}"
reference = "internal"

[[package]]
name = "gitdep"
version = "1.2.0"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = []
develop = false

[package.source]
type = "git"
url = "https://github.com/example/gitdep.git"
reference = "main"
resolved_reference = "{COMMIT}"

[[package]]
name = "urldep"
version = "3.0"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = [
    {{file = "urldep-3.0.tar.gz", hash = "{sha("url")}"}},
]

[package.source]
type = "url"
url = "https://downloads.example/urldep-3.0.tar.gz"

[[package]]
name = "filedep"
version = "0.1"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = [
    {{file = "filedep-0.1-py3-none-any.whl", hash = "{sha("file")}"}},
]

[package.source]
type = "file"
url = "vendor/filedep-0.1-py3-none-any.whl"

[[package]]
name = "localdep"
version = "0.0.1"
description = ""
optional = false
python-versions = "^3.9"
groups = ["dev"]
files = []
develop = true

[package.source]
type = "directory"
url = "../localdep"

[metadata]
lock-version = "{version}"
python-versions = ">=3.9"
content-hash = "0000"
"""


@pytest.mark.parametrize("version", ["2.0", "2.1"])
def test_2_x_sources(version: str) -> None:
    lock = parse_poetry_lock(lock_2(version), "sub/poetry.lock")
    by_name = {r.name: r for r in lock.releases}
    assert list(by_name) == ["requests", "internal-lib", "gitdep", "urldep", "filedep", "localdep"]
    assert all(r.lockfile == "sub/poetry.lock" for r in lock.releases)

    requests = by_name["requests"]
    assert (requests.version, requests.source_kind, requests.source_url) == (
        "2.32.3",
        SourceKind.INDEX,
        PYPI_SIMPLE,
    )
    assert hashes_of(requests) == [sha("rw"), sha("rs")]
    assert requests.source_identity is None

    internal = by_name["internal-lib"]
    assert (internal.source_kind, internal.source_url) == (SourceKind.INDEX, INTERNAL)
    assert hashes_of(internal) == [sha("iw")]

    git = by_name["gitdep"]
    assert git.files == ()
    assert (git.source_kind, git.source_url, git.source_reference) == (
        SourceKind.GIT,
        "https://github.com/example/gitdep.git",
        COMMIT,  # resolved_reference wins over the branch name
    )
    assert git.source_identity == f"git+https://github.com/example/gitdep.git@{COMMIT}"

    url = by_name["urldep"]
    assert (url.source_kind, url.source_url) == (
        SourceKind.URL,
        "https://downloads.example/urldep-3.0.tar.gz",
    )
    assert [f.filename for f in url.files] == ["urldep-3.0.tar.gz"]

    file = by_name["filedep"]
    assert (file.source_kind, file.source_url) == (SourceKind.FILE, "vendor/filedep-0.1-py3-none-any.whl")
    assert hashes_of(file) == [sha("file")]

    local = by_name["localdep"]
    assert (local.source_kind, local.source_url, local.files) == (SourceKind.DIRECTORY, "../localdep", ())
    assert local.source_identity == "directory:../localdep"  # what stands in for hashes it has none of
    assert all(r.source_identity is None for r in lock.releases if r.name not in ("gitdep", "localdep"))

    assert lock.index_urls == (INTERNAL, PYPI_SIMPLE)


def test_git_without_resolved_reference_falls_back_to_reference() -> None:
    text = lock_2("2.1").replace(f'resolved_reference = "{COMMIT}"\n', "")
    git = next(r for r in parse_poetry_lock(text).releases if r.name == "gitdep")
    assert git.source_reference == "main"
    assert git.source_identity == "git+https://github.com/example/gitdep.git@main"


def test_hash_algorithms_other_than_sha256_are_kept() -> None:
    md5 = hashlib.md5(b"x").hexdigest()
    sha512 = hashlib.sha512(b"x").hexdigest()
    text = f"""\
[[package]]
name = "old"
version = "1.0"
files = [
    {{file = "old-1.0.tar.gz", hash = "md5:{md5}"}},
    {{file = "old-1.0.zip", hash = "sha512:{sha512}"}},
]
[metadata]
lock-version = "2.0"
"""
    (release,) = parse_poetry_lock(text).releases
    assert [(f.hash.algorithm, f.hash.value, f.hash.strong) for f in release.files] == [
        ("md5", md5, False),
        ("sha512", sha512, True),
    ]


def test_empty_lock_has_no_releases() -> None:
    lock = parse_poetry_lock('[metadata]\nlock-version = "2.1"\n')
    assert lock.releases == ()
    assert lock.index_urls == ()


# ---------------------------------------------------------------------------------------------
# problems: all of them, each with its key path


def problems_of(text: str, path: str = "poetry.lock") -> list[tuple[str, str]]:
    with pytest.raises(InputError) as info:
        parse_poetry_lock(text, path)
    assert info.value.source == path
    assert info.value.what == "poetry.lock"
    return [(p.where, p.message) for p in info.value.problems]


def test_three_problems_are_all_reported_with_key_paths() -> None:
    text = f"""\
[[package]]
name = "fine"
version = "1.0"
files = [{{file = "fine-1.0.tar.gz", hash = "{sha("fine")}"}}]

[[package]]
name = "bad name!"
version = "1.0"
files = []

[[package]]
name = "b"
version = "2.0"
files = [
    {{file = "b-2.0.tar.gz", hash = "{sha("b")}"}},
    {{file = "b-2.0.zip", hash = "sha256:nothex"}},
]

[package.source]
type = "svn"
url = "svn://example/b"

[metadata]
lock-version = "2.1"
"""
    problems = problems_of(text)
    assert sorted(where for where, _ in problems) == [
        "package[1].name",
        "package[2].files[1].hash",
        "package[2].source.type",
    ]
    messages = dict(problems)
    assert "'bad name!' is not a valid project name" in messages["package[1].name"]
    assert "sha256" in messages["package[2].files[1].hash"]
    assert "'svn'" in messages["package[2].source.type"]
    with pytest.raises(InputError, match=r"\(3 problems\)"):
        parse_poetry_lock(text)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('[[package]]\nname = "a"\nversion = "1"\n', "metadata", "missing"),
        ('[metadata]\nlock-version = "3.0"\n', "metadata.lock-version", "'3.0'"),
        ("[metadata]\nlock-version = 2.0\n", "metadata.lock-version", "2.0"),
        ('package = "x"\n[metadata]\nlock-version = "2.0"\n', "package", "array"),
        ('package = [1]\n[metadata]\nlock-version = "2.0"\n', "package[0]", "table"),
        ('[[package]]\nversion = "1"\n[metadata]\nlock-version = "2.0"\n', "package[0].name", "missing"),
        (
            '[[package]]\nname = "a"\nversion = 1\n[metadata]\nlock-version = "2.0"\n',
            "package[0].version",
            "",
        ),
        (
            '[[package]]\nname = "a"\nversion = " "\n[metadata]\nlock-version = "2.0"\n',
            "package[0].version",
            "",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nfiles = "a-1.tar.gz"\n'
            '[metadata]\nlock-version = "2.0"\n',
            "package[0].files",
            "array",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nfiles = ["x"]\n[metadata]\nlock-version = "2.0"\n',
            "package[0].files[0]",
            "table",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nfiles = [{file = "../a-1.tar.gz", hash = "x"}]\n'
            '[metadata]\nlock-version = "2.0"\n',
            "package[0].files[0].file",
            "plain filename",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nfiles = [{file = "a-1.tar.gz"}]\n'
            '[metadata]\nlock-version = "2.0"\n',
            "package[0].files[0].hash",
            "missing",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nsource = "pypi"\n[metadata]\nlock-version = "2.0"\n',
            "package[0].source",
            "table",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nsource = {type = ["git"], url = "u"}\n'
            '[metadata]\nlock-version = "2.0"\n',
            "package[0].source.type",
            "['git']",
        ),
        (
            '[[package]]\nname = "a"\nversion = "1"\nsource = {type = "git"}\n'
            '[metadata]\nlock-version = "2.0"\n',
            "package[0].source.url",
            "missing",
        ),
        ('[metadata]\nlock-version = "1.1"\nfiles = []\n', "metadata.files", "table"),
        ('[metadata]\nlock-version = "1.1"\n[metadata.files]\n"a b" = []\n', 'metadata.files."a b"', "valid"),
        ('[metadata]\nlock-version = "1.1"\n[metadata.files]\n"a\\nb" = []\n', 'metadata.files."a\\nb"', ""),
        ('[metadata]\nlock-version = "1.1"\n[metadata.files]\na = [1]\n', "metadata.files.a[0]", "table"),
    ],
)
def test_problem_locations(text: str, where: str, message: str) -> None:
    problems = problems_of(text)
    assert where in [w for w, _ in problems], problems
    assert any(message in m for w, m in problems if w == where), problems


def test_toml_syntax_error_names_line_and_column() -> None:
    text = '[[package]]\nname = "a"\nversion = "1\n'
    ((where, message),) = problems_of(text, "x/poetry.lock")
    assert where == "line 3, column 13"
    assert message.startswith("invalid TOML: ")


def test_deeply_nested_toml_is_an_input_error() -> None:
    ((where, message),) = problems_of("a = " + "[" * 5000 + "]" * 5000 + "\n")
    assert (where, message) == ("", "invalid TOML: nested too deeply")


def test_error_message_is_one_line_and_names_the_file() -> None:
    text = '[metadata]\nlock-version = "1.1"\n[metadata.files]\n"a\\nb\\u2028c" = [1]\n'
    with pytest.raises(InputError) as info:
        parse_poetry_lock(text, "deps/poetry.lock")
    line = str(info.value)
    assert line.startswith("deps/poetry.lock is not a valid poetry.lock")
    assert len(line.splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "digest", "where"),
    [
        ("six", sha("six") + "\\n", "package[0].files[0].hash"),
        ("six\\n", sha("six"), "package[0].name"),
        ("\u017fix", sha("six"), "package[0].name"),
    ],
    ids=["hash-newline", "name-newline", "name-long-s"],
)
def test_odd_hash_or_name_is_refused(name: str, digest: str, where: str) -> None:
    text = (
        f'[[package]]\nname = "{name}"\nversion = "1.16.0"\n'
        f'files = [{{file = "six-1.16.0.tar.gz", hash = "{digest}"}}]\n'
        '[metadata]\nlock-version = "2.1"\n'
    )
    assert [w for w, _ in problems_of(text)] == [where]
