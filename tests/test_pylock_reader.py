"""The pylock.toml (PEP 751) reader: the corpus files, each kind of entry, the spellings pip reads as
one, and what it refuses. tests/test_pylock_diff.py holds it against packaging.pylock and pip."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from pinwarden.cli import main
from pinwarden.shared.errors import InputError
from pinwarden.shared.locks import lock_format, parse_lock, parse_lock_bytes
from pinwarden.shared.locks.pylock import UNVERSIONED, parse_pylock
from pinwarden.shared.model import FileHash, SourceKind

DATA = Path(__file__).parent / "data" / "pylock"
SOURCES = list(csv.DictReader((DATA / "SOURCES.tsv").open(encoding="utf-8"), delimiter="\t"))
HEX = "a" * 64
HEX2 = "b" * 64
COMMIT = "0123456789abcdef0123456789abcdef01234567"
PYPI = "https://files.pythonhosted.org/packages/aa/bb"


def doc(packages: str, head: str = 'lock-version = "1.0"\ncreated-by = "test"\n') -> str:
    return head + packages


def wheel_package(name: str = "demo", version: str = "1.0", marker: str | None = None, **wheel: str) -> str:
    """One package with one wheel; `filename` is the wheel's `name` key, other keywords its keys."""
    fields = {"url": f'"{PYPI}/demo-1.0-py3-none-any.whl"', "hashes": f'{{sha256 = "{HEX}"}}', **wheel}
    if "filename" in fields:
        fields["name"] = fields.pop("filename")
    inline = ", ".join(f"{k} = {v}" for k, v in fields.items())
    extra = f"marker = {marker}\n" if marker else ""
    return f'[[packages]]\nname = "{name}"\nversion = "{version}"\n{extra}wheels = [{{{inline}}}]\n'


def refused(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        parse_pylock(text, "pylock.toml")
    return info.value


# ---------------------------------------------------------------------------------------------
# the corpus


@pytest.mark.parametrize("row", SOURCES, ids=lambda r: r["file"])
def test_every_corpus_file_reads_with_the_counts_sources_gives(row: dict[str, str]) -> None:
    lock = parse_pylock((DATA / row["file"]).read_text(encoding="utf-8"), row["file"])
    assert lock.format == "pylock.toml"
    assert len(lock.releases) == int(row["package_count"])
    assert sum(len(r.files) for r in lock.releases) == int(row["hash_count"])
    for release in lock.releases:
        assert all(f.hash.algorithm == "sha256" for f in release.files)
        assert all(f.url and f.url.startswith("https://files.pythonhosted.org/") for f in release.files)


def test_uv_export_corpus_file_carries_size_upload_time_index_and_its_directory() -> None:
    lock = parse_pylock((DATA / "Comfy-Org__comfy-cli__pylock.toml").read_text(encoding="utf-8"), "x")
    assert lock.index_urls == ("https://pypi.org/simple",)
    anyio = next(r for r in lock.releases if r.name == "anyio")
    sdist = next(f for f in anyio.files if f.filename == "anyio-4.10.0.tar.gz")
    assert sdist.size == 213252
    assert sdist.upload_time == "2025-08-04T08:54:26Z"
    assert anyio.source_url == "https://pypi.org/simple"
    root = next(r for r in lock.releases if r.name == "comfy-cli")
    assert (root.source_kind, root.source_url, root.version, root.files) == (
        SourceKind.DIRECTORY,
        ".",
        UNVERSIONED,
        (),
    )
    colorama = next(r for r in lock.releases if r.name == "colorama")
    assert colorama.marker == 'sys_platform == "win32"'


def test_markupsafe_named_in_lower_case_beside_its_url_is_one_file() -> None:
    """uv writes `name = "markupsafe-3.0.2-..."` beside a URL ending `MarkupSafe-3.0.2-...`: the same
    wheel to pip, so the file reads under packaging's filename (its `name`)."""
    lock = parse_pylock((DATA / "Comfy-Org__comfy-cli__pylock.toml").read_text(encoding="utf-8"), "x")
    markupsafe = next(r for r in lock.releases if r.name == "markupsafe")
    renamed = [
        f
        for f in markupsafe.files
        if f.url and "/MarkupSafe-" in f.url and f.filename.startswith("markupsafe-")
    ]
    assert renamed, markupsafe.files


def test_pdm_corpus_file_reads_every_marker_and_no_index() -> None:
    lock = parse_pylock(
        (DATA / "Five-Colleges-Incorporated__ldlite__pylock.toml").read_text(encoding="utf-8"), "x"
    )
    assert lock.index_urls == ()
    assert all(r.marker for r in lock.releases)
    assert all(f.size is None and f.upload_time is None for r in lock.releases for f in r.files)


# ---------------------------------------------------------------------------------------------
# the entries


def test_pip_lock_shape_array_of_tables() -> None:
    text = doc(
        '[[packages]]\nname = "demo"\nversion = "1.0"\n\n'
        '[[packages.wheels]]\nname = "demo-1.0-py3-none-any.whl"\n'
        f'url = "{PYPI}/demo-1.0-py3-none-any.whl"\n\n[packages.wheels.hashes]\nsha256 = "{HEX}"\n'
    )
    (release,) = parse_pylock(text, "p").releases
    assert (release.name, release.version, release.source_kind, release.source_url) == (
        "demo",
        "1",
        SourceKind.INDEX,
        None,
    )
    assert release.locked_as == "1.0"
    (file,) = release.files
    assert (file.filename, str(file.hash), file.url, file.size, file.upload_time) == (
        "demo-1.0-py3-none-any.whl", f"sha256:{HEX}", f"{PYPI}/demo-1.0-py3-none-any.whl", None, None
    )  # fmt: skip


def test_a_file_without_name_is_named_by_its_url_decoded_or_its_path() -> None:
    by_url = wheel_package(url=f'"{PYPI}/demo-1.0%2Blocal-py3-none-any.whl"', version="1.0+local")
    assert parse_pylock(doc(by_url), "p").releases[0].files[0].filename == "demo-1.0+local-py3-none-any.whl"
    by_path = wheel_package(path='"dist/demo-1.0-py3-none-any.whl"')
    file = parse_pylock(doc(by_path), "p").releases[0].files[0]
    # pip fetches the path, not the URL: no URL is recorded for the offline host checks.
    assert (file.filename, file.url) == ("demo-1.0-py3-none-any.whl", None)


@pytest.mark.parametrize(
    ("hashes", "expected"),
    [
        (f'{{SHA256 = "{HEX.upper()}"}}', [f"sha256:{HEX}"]),
        (f'{{Sha256 = "{HEX}", sha512 = "{"c" * 128}"}}', [f"sha256:{HEX}", f"sha512:{'c' * 128}"]),
        (f'{{sha256 = "{HEX}", SHA256 = "{HEX.upper()}"}}', [f"sha256:{HEX}"]),
        (f'{{md5 = "{"d" * 32}"}}', [f"md5:{'d' * 32}"]),  # weak: read, and `check` reports it
    ],
)
def test_hashes_read_as_pip_compares_them(hashes: str, expected: list[str]) -> None:
    """pip: `hashlib.new(algorithm)` and a lower-cased digest; any one of a file's hashes is enough."""
    release = parse_pylock(doc(wheel_package(hashes=hashes)), "p").releases[0]
    assert sorted(str(f.hash) for f in release.files) == expected


def test_several_entries_of_one_name_are_each_their_own_release() -> None:
    one = wheel_package(marker="\"sys_platform == 'win32'\"")
    two = wheel_package(
        version="2.0", marker="\"sys_platform != 'win32'\"", url=f'"{PYPI}/demo-2.0-py3-none-any.whl"'
    )
    releases = parse_pylock(doc(one + two), "p").releases
    assert [(r.name, r.version, r.marker) for r in releases] == [
        ("demo", "1", 'sys_platform == "win32"'), ("demo", "2", 'sys_platform != "win32"')
    ]  # fmt: skip


def test_a_package_without_version_takes_its_files_version() -> None:
    text = doc(
        f'[[packages]]\nname = "demo"\n'
        f'sdist = {{url = "{PYPI}/demo-1.0.tar.gz", hashes = {{sha256 = "{HEX}"}}}}\n'
    )
    assert parse_pylock(text, "p").releases[0].version == "1"


def test_files_of_two_versions_without_a_package_version_are_refused() -> None:
    text = doc(
        f'[[packages]]\nname = "demo"\n'
        f'wheels = [{{url = "{PYPI}/demo-1.0-py3-none-any.whl", hashes = {{sha256 = "{HEX}"}}}},'
        f' {{url = "{PYPI}/demo-2.0-py2-none-any.whl", hashes = {{sha256 = "{HEX2}"}}}}]\n'
    )
    assert "several versions" in str(refused(text))


def test_upload_time_of_every_datetime_spelling() -> None:
    times = {
        "2025-08-04T08:54:26Z": "2025-08-04T08:54:26Z",
        "2025-08-04T08:54:26.5+00:00": "2025-08-04T08:54:26.500000Z",
        "2025-08-04T10:54:26+02:00": "2025-08-04T10:54:26+02:00",
        "2025-08-04T08:54:26": "2025-08-04T08:54:26",  # local: PEP 751 says UTC, signs.parse_time reads it so
    }
    for written, read in times.items():
        release = parse_pylock(doc(wheel_package(**{"upload-time": written, "size": "12"})), "p").releases[0]
        assert (release.files[0].upload_time, release.files[0].size) == (read, 12)


def test_vcs_directory_and_archive_entries() -> None:
    text = doc(
        '[[packages]]\nname = "gitdep"\n'
        f'vcs = {{type = "git", url = "https://github.com/o/r.git", commit-id = "{COMMIT.upper()}"}}\n'
        '[[packages]]\nname = "subdep"\nversion = "2.0"\n'
        f'vcs = {{type = "git", path = "../repo", commit-id = "{COMMIT}", subdirectory = "lib"}}\n'
        '[[packages]]\nname = "local"\ndirectory = { path = "./local", editable = true }\n'
        '[[packages]]\nname = "arch"\n'
        f'archive = {{url = "{PYPI}/arch-3.0.tar.gz#sha256={HEX2}",'
        f' hashes = {{sha256 = "{HEX}"}}, size = 10}}\n'
        '[[packages]]\nname = "tarball"\n'
        f'archive = {{path = "vendor/main.zip", hashes = {{sha256 = "{HEX}"}}}}\n'
    )
    git, sub, local, arch, tarball = parse_pylock(text, "p").releases
    assert (git.source_kind, git.source_url, git.source_reference, git.version) == (
        SourceKind.GIT, "https://github.com/o/r.git", COMMIT, UNVERSIONED
    )  # fmt: skip
    assert git.source_identity == f"git+https://github.com/o/r.git@{COMMIT}"
    # pip installs `git+file:///.../repo@COMMIT#subdirectory=lib`: the subdirectory is part of what installs.
    assert sub.source_identity == f"git+../repo@{COMMIT}#subdirectory=lib"
    assert (local.source_kind, local.source_identity) == (SourceKind.DIRECTORY, "directory:local")
    # A direct URL's fragment hash is one more that pip accepts; the version is the file name's.
    assert (arch.source_kind, arch.version, arch.version_from_filename) == (SourceKind.URL, "3", True)
    assert {str(f.hash) for f in arch.files} == {f"sha256:{HEX}", f"sha256:{HEX2}"}
    assert {f.filename for f in arch.files} == {"arch-3.0.tar.gz"}
    assert (tarball.source_kind, tarball.version, tarball.files[0].filename) == (
        SourceKind.FILE,
        UNVERSIONED,
        "main.zip",
    )


@pytest.mark.parametrize("version", ["1.0", "1", "1.0.0", "1.1", "1.9"])
def test_lock_version_1_x_reads_as_pip_reads_it(version: str) -> None:
    """pip (packaging) reads 1.x and warns on a minor version above 1.0: its unknown keys are ignored."""
    assert parse_pylock(doc(wheel_package(), f'lock-version = "{version}"\ncreated-by = "t"\n'), "p").releases


@pytest.mark.parametrize("version", ["2.0", "2", "0.9", "2.0.dev0", "2.0a1", "one", "1.0 beta"])
def test_lock_version_other_than_1_x_is_refused(version: str) -> None:
    error = refused(doc(wheel_package(), f'lock-version = "{version}"\ncreated-by = "t"\n'))
    assert [p.where for p in error.problems] == ["lock-version"]


# ---------------------------------------------------------------------------------------------
# refusals


@pytest.mark.parametrize(
    ("package", "why"),
    [
        (wheel_package(name="MarkupSafe"), "not a normalized name"),
        (wheel_package(version='1.0"\nversion = "1.0'), "invalid TOML"),
        # another file than pip fetches: a build tag, other tags, another version, another project
        (wheel_package(filename='"demo-1.0-1-py3-none-any.whl"'), "pip fetches"),
        (wheel_package(filename='"demo-1.0-py2-none-any.whl"'), "pip fetches"),
        (wheel_package(url=f'"{PYPI}/demo-1.0-py3-none-any.whl;x"'), "pip fetches"),
        (
            wheel_package(url=f'"{PYPI}/evil-1.0-py3-none-any.whl"', filename='"demo-1.0-py3-none-any.whl"'),
            "pip fetches",
        ),
        (wheel_package(url=f'"{PYPI}/download?id=3"', filename='"demo-1.0-py3-none-any.whl"'), "pip fetches"),
        (wheel_package(url='"demo-1.0-py3-none-any.whl"'), "not an absolute URL"),
        (wheel_package(path='"dist\\\\demo-1.0-py3-none-any.whl"'), "backslash"),
        (wheel_package(path='"file:demo-1.0-py3-none-any.whl"'), "starts like a URL"),
        (wheel_package(path='""'), "empty"),
        (wheel_package(hashes="{}"), "at least one hash"),
        (wheel_package(hashes=f'{{blake2b = "{HEX}"}}'), "unknown hash algorithm"),
        (wheel_package(hashes=f'{{sha256 = "{HEX[:-1]}"}}'), "not a sha256 digest"),
        (wheel_package(size="-1"), "not a size"),
        (wheel_package(size="true"), "must be an integer"),
        (wheel_package(**{"upload-time": '"2025-08-04T08:54:26Z"'}), "TOML datetime"),
        (wheel_package(**{"upload-time": "2025-08-04"}), "TOML datetime"),
        (wheel_package(version="2.0"), "not of version 2.0"),
        (wheel_package(marker='"os =="'), "not a marker"),
        (
            '[[packages]]\nname = "g"\nvcs = {type = "git", url = "https://h/r.git", commit-id = "main"}\n',
            "full commit",
        ),
        (
            f'[[packages]]\nname = "g"\nvcs = {{type = "hg", url = "https://h/r", commit-id = "{COMMIT}"}}\n',
            "git sources only",
        ),
        (
            '[[packages]]\nname = "g"\n'
            f'vcs = {{type = "git", url = "https://h/r.git#egg=g", commit-id = "{COMMIT}"}}\n',
            "fragment",
        ),
        ('[[packages]]\nname = "d"\ndirectory = {path = "c:/src"}\nversion = "1"\n', "starts like a URL"),
        ('[[packages]]\nname = "d"\nversion = "1"\n', "exactly one of vcs, directory, archive"),
        (wheel_package() + 'directory = {path = "."}\n', "none of vcs, directory, archive"),
    ],
)
def test_refused_with_the_reason(package: str, why: str) -> None:
    error = refused(doc(package))
    assert why in str(error), str(error)


def test_every_problem_is_reported_at_once() -> None:
    text = 'lock-version = "3.0"\n' + wheel_package(name="Bad_Name") + wheel_package(hashes='{sha256 = "x"}')
    error = refused(text)
    assert {p.where for p in error.problems} == {
        "lock-version",
        "created-by",
        "packages[0].name",
        "packages[1].wheels[0].hashes.sha256",
    }


@pytest.mark.parametrize(
    "text",
    ["", "packages = 3\n", 'lock-version = 1.0\ncreated-by = "x"\npackages = []\n', "[[packages]]\n" * 3,
     'lock-version = "1.0"\ncreated-by = "x"\npackages = [[1]]\n', "a = " + "[" * 2000 + "]" * 2000 + "\n",
     'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = 7\nwheels = "x"\nsdist = []\nvcs = 1\n'],
)  # fmt: skip
def test_bad_input_is_an_input_error_and_nothing_else(text: str) -> None:
    refused(text)


# ---------------------------------------------------------------------------------------------
# wired in: names pip reads as PEP 751, bytes as pip decodes them, the CLI


def test_pip_reads_pylock_names_as_pep_751_and_so_does_pinwarden() -> None:
    """Before: pinwarden refused every pylock name; now the pylock reader reads them."""
    text = doc(wheel_package())
    for name in ("pylock.toml", "pylock.dev.toml", "sub/pylock.toml"):
        assert lock_format(name, text) == "pylock.toml"
        assert parse_lock(text, name).format == "pylock.toml"
        assert parse_lock_bytes(text.encode(), name).releases == parse_pylock(text, name).releases
    assert lock_format("pylock.toml.txt", text) == "requirements"


@pytest.mark.parametrize(
    ("data", "reads"),
    [
        (doc(wheel_package()).replace("\n", "\r\n").encode(), True),
        (doc(wheel_package()).replace("\n", "\r").encode(), True),  # pip's universal newlines
        (b"\xef\xbb\xbf" + doc(wheel_package()).encode(), False),  # a BOM: tomllib refuses it, as pip's
        (doc(wheel_package()).encode() + b"# \xff\n", False),
        (doc(wheel_package()).encode("utf-16"), False),
    ],
)
def test_bytes_are_decoded_as_pip_decodes_them(data: bytes, reads: bool) -> None:
    if reads:
        assert (
            parse_lock_bytes(data, "pylock.toml").releases
            == parse_pylock(doc(wheel_package()), "pylock.toml").releases
        )
    else:
        with pytest.raises(InputError):
            parse_lock_bytes(data, "pylock.toml")


@pytest.mark.parametrize("row", SOURCES, ids=lambda r: r["file"])
def test_init_then_check_is_clean_on_every_corpus_file(row: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_bytes((DATA / row["file"]).read_bytes())
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        out, err = io.StringIO(), io.StringIO()
        assert main(["init", "pylock.toml"], out, err) == 0, err.getvalue()
        out, err = io.StringIO(), io.StringIO()
        assert main(["check", "pylock.toml"], out, err) == 0, out.getvalue() + err.getvalue()
    finally:
        os.chdir(old)


def test_a_bad_pylock_is_exit_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_text(doc(wheel_package(hashes="{}")))
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        out, err = io.StringIO(), io.StringIO()
        assert main(["check", "pylock.toml"], out, err) == 2
    finally:
        os.chdir(old)
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "pinwarden: error: pylock.toml is not a valid pylock.toml"
    ), lines
    assert not (tmp_path / ".pinwarden.toml").exists() and "Traceback" not in err.getvalue()


def test_weak_hash_is_read_for_check_to_report() -> None:
    release = parse_pylock(doc(wheel_package(hashes=f'{{md5 = "{"d" * 32}"}}')), "p").releases[0]
    assert release.files[0].hash == FileHash("md5", "d" * 32) and not release.files[0].hash.strong


def test_a_local_archive_with_a_subdirectory_reads_through_the_cli(tmp_path: Path) -> None:
    """Poetry's rule for local files (the name its path resolves to) is not pip's: the CLI reads a
    pylock `path` archive as pip fetches it."""
    (tmp_path / "pylock.toml").write_text(
        doc(
            '[[packages]]\nname = "arch"\n'
            f'archive = {{path = "vendor/arch.zip", subdirectory = "pkg", hashes = {{sha256 = "{HEX}"}}}}\n'
        )
    )
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        out, err = io.StringIO(), io.StringIO()
        assert main(["init", "pylock.toml"], out, err) == 0, err.getvalue()
    finally:
        os.chdir(old)
