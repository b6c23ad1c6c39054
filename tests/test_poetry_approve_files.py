"""`poetry pinwarden approve NAME==VERSION` records only that version's files (issue 10).

The approval takes the files from the project's Poetry source. A hostile page can list, under the
project, files whose names are another version's or another project's, or that no installer reads
the way Poetry's own filename patterns do (`.tar.bz2`, `.sdist.tar.gz`). Only a file whose name
packaging reads as exactly this project and version (canonical name, PEP 440 version) may be
approved, as `pinwarden approve --from-index` rules; the others are left out and named. Real
`poetry pinwarden approve` against a local index on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, unquote

import pytest
from tests.support.guarded_project import Project, make_project
from tests.support.index import PackageIndex, build_sdist, build_wheel

from pinwarden.shared.store import LedgerStore

pytestmark = pytest.mark.e2e

NAME = "pwapprove-files"  # cannot exist on PyPI; separators to spell it several ways
BASE = build_wheel(NAME, "1.0", marker="base")
SDIST_BYTES = build_sdist(NAME, "1.0", marker="sdist")[1]

# Filenames of version 1.0 of this project, however spelled: approved.
OWN = [
    "pwapprove_files-1.0.0-py2.py3-none-any.whl",  # 1.0 spelled 1.0.0
    "pwapprove_files-1-py3-none-win_amd64.whl",  # spelled 1
    "PWApprove_Files-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",  # case
    "pwapprove_files-1.0-1-py3-none-any.whl",  # a build tag: this version's wheel, outranking BASE
    "pwapprove_files-1.0-2b-py3-none-macosx_11_0_arm64.whl",  # a build tag with a suffix
    "pwapprove_files-1.0.tar.gz",  # the sdist
    "PWApprove.Files-01.0.zip",  # separators, case, a leading zero, another archive
    "pwapprove-files-1.0.0.tar.gz",
]
# Filenames listed under the project that are another version's or project's: Poetry itself does
# not offer them as 1.0's; never approved.
OTHER_VERSIONS = [
    "pwapprove_files-2.0-py3-none-any.whl",
    "pwapprove_files-1.0.1.tar.gz",
    "pwapprove_files-1.0.post1-py3-none-any.whl",
    "pwapprove_files-1.0+evil-py3-none-any.whl",  # a local version is another version
    "pwapprove_files-1!1.0.tar.gz",  # an epoch
    "pwapprove_files-1.0rc1.tar.gz",
    "pwapprove_other-1.0-py3-none-any.whl",  # another project
    "pwapprove_filesx-1.0.tar.gz",
    "pwapprove_files-1.0-1.0.tar.gz",  # project pwapprove-files-1-0, for packaging and Poetry
    "pwapprove_files-1.0.egg",
]
# Names Poetry's own patterns read as 1.0 and packaging reads as nothing: Poetry offers them as this
# version's files; left out and named.
MISREAD = [
    "pwapprove_files-1.0.tar.bz2",
    "pwapprove_files-1.0.tar.xz",
    "pwapprove_files-1.0.tar",
    "pwapprove_files-1.0.sdist.tar.gz",
]
OTHERS = OTHER_VERSIONS + MISREAD


def content(filename: str) -> bytes:
    """Valid bytes of the filename's kind (Poetry may read a wheel's metadata), distinct per file."""
    if filename.endswith(".whl"):
        return build_wheel(NAME, "1.0", marker=filename)[1]
    return SDIST_BYTES + filename.encode()


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    index.add(NAME, "1.0", *BASE)
    with index.serve():
        yield index


@pytest.fixture
def project(index: PackageIndex, tmp_path: Path) -> Project:
    return make_project(tmp_path, index.url, [NAME])


def approved_files(project: Project) -> set[str]:
    trusted = LedgerStore(project.ledger).load().get(NAME, "1")
    assert trusted is not None
    return {f.filename for f in trusted.files if f.filename is not None}


def approve(project: Project, spec: str = f"{NAME}==1.0") -> tuple[int, str]:
    done = project.poetry("pinwarden", "approve", "--from-index", spec)
    assert "Traceback" not in done.output
    return done.code, done.output


@pytest.mark.parametrize("filename", OWN + OTHERS)
def test_only_files_of_the_asked_version_are_approved(
    index: PackageIndex, project: Project, filename: str
) -> None:
    index.add(NAME, "1.0", filename, content(filename))
    code, output = approve(project)
    assert code == 0, output
    own = filename in OWN
    assert approved_files(project) == ({BASE[0], filename} if own else {BASE[0]})
    assert f"  {BASE[0]}  sha256:" in output
    assert (f"  {filename}  sha256:" in output) is own
    assert (f"  left out: {filename} (" in output) is (filename in MISREAD), output


@pytest.mark.parametrize(
    ("json", "spec"),
    [
        (False, f"{NAME}==1.0"),
        (True, "PWApprove.Files==1.0.0"),
        (True, "pwapprove_files==1"),
    ],
)
def test_every_spelling_on_one_page(index: PackageIndex, project: Project, json: bool, spec: str) -> None:
    """All of them at once, from a PEP 503 and a PEP 691 page, the version asked in any spelling."""
    index.json_enabled = json
    for filename in OWN + OTHERS:
        index.add(NAME, "1.0", filename, content(filename))
    code, output = approve(project, spec)
    assert code == 0, output
    assert approved_files(project) == {BASE[0], *OWN}
    left_out = {line.split()[2] for line in output.splitlines() if line.startswith("  left out: ")}
    assert left_out == set(MISREAD), output
    downloaded = {unquote(path.rsplit("/", 1)[1]) for path in index.requests if path.startswith("/files/")}
    assert not downloaded & set(left_out), "a file left out is never downloaded to be hashed"


def test_a_version_with_only_other_files_is_an_error_and_nothing_is_written(
    index: PackageIndex, project: Project
) -> None:
    index.remove(NAME, BASE[0])
    for filename in ("pwapprove_files-1.0.tar.bz2", "pwapprove_files-1.0.sdist.tar.gz"):
        index.add(NAME, "1.0", filename, content(filename))
    code, output = approve(project)
    assert code == 2, output
    assert output.strip().splitlines()[-1].startswith("pinwarden: error: ")
    assert "pwapprove_files-1.0.tar.bz2" in output
    assert not project.ledger.exists()


def json_api_page(index: PackageIndex, filenames: list[str]) -> dict[str, Any]:
    """`pypi/NAME/1.0/json` as PyPI answers it, listing `filenames` under 1.0 (served by `index`)."""
    files = index.url.removesuffix("simple/") + f"files/{NAME}/"
    urls = [
        {
            "filename": filename,
            "url": files + quote(filename),
            "digests": {"sha256": hashlib.sha256(index.file_data(NAME, filename)).hexdigest()},
            "packagetype": "bdist_wheel" if filename.endswith(".whl") else "sdist",
        }
        for filename in filenames
    ]
    info = {"name": NAME, "version": "1.0", "summary": "", "requires_dist": [], "requires_python": None}
    return {"info": info, "urls": urls}


def test_files_a_json_api_lists_under_the_version_are_judged_by_their_names(
    index: PackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyPI's JSON API is where Poetry takes a version's files without reading their names
    (`PyPiRepository._get_release_info`): whatever it lists under 1.0 reaches the approval. In
    process, with the API's answer given to Poetry's own PyPiRepository (pypi.org is out of reach)."""
    from poetry.repositories.pypi_repository import PyPiRepository
    from poetry.repositories.repository_pool import RepositoryPool

    from pinwarden.poetry_plugin.approve import approve_from_sources

    for key in ("POETRY_CACHE_DIR", "POETRY_CONFIG_DIR", "POETRY_DATA_DIR"):
        monkeypatch.setenv(key, str(tmp_path / key))
    monkeypatch.setenv("POETRY_KEYRING_ENABLED", "false")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    forged = "pwapprove_files-2.0.tar.gz\n  pwapprove_files-1.0-forged.whl  sha256:0"  # a line of its own?
    listed = [BASE[0], *OWN, *OTHER_VERSIONS, *MISREAD, forged]
    for filename in listed[1:]:
        index.add(NAME, "1.0", filename, content(filename))
    answers = {f"pypi/{NAME}/1.0/json": json_api_page(index, listed)}

    class JsonApi(PyPiRepository):
        def _get(self, endpoint: str, headers: dict[str, str] | None = None) -> dict[str, Any] | None:
            return answers.get(endpoint)

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n')
    pool = RepositoryPool([JsonApi(index.url.removesuffix("simple/"), disable_cache=True)])
    poetry = SimpleNamespace(
        pyproject_path=tmp_path / "pyproject.toml",
        locker=SimpleNamespace(lock=tmp_path / "poetry.lock"),
        pool=pool,
    )
    out = io.StringIO()
    approve_from_sources(poetry, [f"{NAME}==1.0"], reason=None, ledger=None, out=out)  # type: ignore[arg-type]
    trusted = LedgerStore(tmp_path / "pinwarden-ledger.toml").load().get(NAME, "1")
    assert trusted is not None
    assert {f.filename for f in trusted.files} == {BASE[0], *OWN}
    lines = out.getvalue().splitlines()
    left_out = {line.split()[2] for line in lines if line.startswith("  left out: ")}
    assert left_out == {*OTHER_VERSIONS, *MISREAD, ascii(forged).split()[0]}, out.getvalue()
    assert not any(line.startswith("  pwapprove_files-1.0-forged.whl") for line in lines)
