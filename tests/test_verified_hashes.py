"""Issue 10, class 2: only hashes pinwarden verified enter the ledger.

An index that lists a hash of other bytes for a trusted file (alone, or beside the right sha256)
must never get that hash trusted: not through the plugin's algorithm-switch check, not through
`poetry pinwarden approve`, not through `pinwarden approve --from-index`. Real Poetry against an
index on 127.0.0.1 whose pages can lie; afterwards the other bytes pass neither check nor install.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.guarded_project import (
    ALPHA,
    APPROVE_ALPHA,
    EVIL_BYTES,
    OTHER,
    WHEEL,
    Project,
    copy_project,
    make_project,
    publish_base,
)
from tests.support.index import PackageIndex

from pinwarden.cli import main

pytestmark = pytest.mark.e2e

_STRENGTH = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]


def hexdigest(data: bytes, algorithm: str) -> str:
    return hashlib.new(algorithm, data).hexdigest()


class ForgingIndex(PackageIndex):
    """A PackageIndex whose pages list, per filename, whatever hashes the test says."""

    def __init__(self) -> None:
        super().__init__()
        self.listed: dict[str, dict[str, str]] = {}

    def render_project(self, name: str, as_json: bool = False) -> str:
        page = json.loads(super().render_project(name, as_json=True))
        for row in page["files"]:
            row["hashes"] = dict(self.listed.get(row["filename"], row["hashes"]))
        if as_json:
            return json.dumps(page)
        anchors = []
        for row in page["files"]:
            algorithm = max(row["hashes"], key=_STRENGTH.index)  # one fragment: the strongest
            href = html.escape(f"{row['url']}#{algorithm}={row['hashes'][algorithm]}")
            anchors.append(f'<a href="{href}">{html.escape(row["filename"])}</a><br>\n')
        return f"<!DOCTYPE html><html><body>{''.join(anchors)}</body></html>"


@pytest.fixture(scope="module")
def index() -> Iterator[ForgingIndex]:
    index = ForgingIndex()
    publish_base(index)
    with index.serve():
        yield index


@pytest.fixture(scope="module")
def template(index: ForgingIndex, tmp_path_factory: pytest.TempPathFactory) -> Project:
    publish_base(index)
    index.listed.clear()
    project = make_project(tmp_path_factory.mktemp("template"), index.url, [ALPHA, OTHER])
    project.ok("lock", "-n")
    project.ok("install", "-n")
    return project


@pytest.fixture
def project(index: ForgingIndex, template: Project, tmp_path: Path) -> Project:
    publish_base(index)
    index.listed.clear()
    index.json_enabled = True
    return copy_project(template, tmp_path)


# Pages that list, for the trusted wheel (served with its trusted bytes), a hash of OTHER bytes.
LIES = {
    "sha512-alone": lambda: {"sha512": hexdigest(EVIL_BYTES, "sha512")},
    "sha384-alone": lambda: {"sha384": hexdigest(EVIL_BYTES, "sha384")},
    "sha512-beside-right-sha256": lambda: {
        "sha256": hexdigest(WHEEL[1], "sha256"),
        "sha512": hexdigest(EVIL_BYTES, "sha512"),
    },
    "sha512-of-a-prefix": lambda: {"sha512": hexdigest(WHEEL[1][:-1], "sha512")},
}


@pytest.mark.parametrize("page", ["json", "html"])
@pytest.mark.parametrize("lie", sorted(LIES))
def test_a_listed_hash_of_other_bytes_is_refused_and_never_trusted(
    index: ForgingIndex, project: Project, lie: str, page: str
) -> None:
    if page == "html" and "beside" in lie:
        pytest.skip("a PEP 503 link carries one hash")
    index.json_enabled = page == "json"
    index.listed[WHEEL[0]] = LIES[lie]()
    before = project.snapshot()
    for command in (("lock", "-n", "--regenerate"), ("lock", "-n")):
        done = project.poetry(*command)
        assert done.code == 1, done.output
        assert "Traceback" not in done.output
        assert "CHANGED" in done.output and "names other bytes" in done.output, done.output
        assert done.approve_command == APPROVE_ALPHA
        assert project.snapshot() == before

    # The approval asks the source too: the bytes do not give the listed hash, nothing is recorded.
    done = project.poetry("pinwarden", "approve", "--from-index", f"{ALPHA}==1.0")
    assert done.code != 0, done.output
    assert "nothing was recorded" in done.output and "Traceback" not in done.output
    assert project.snapshot() == before

    # The attacker's second step: the other bytes, now served under the trusted name.
    index.replace(ALPHA, WHEEL[0], EVIL_BYTES)
    index.listed[WHEEL[0]] = {a: hexdigest(EVIL_BYTES, a) for a in LIES[lie]()}
    project.ok("--no-plugins", "lock", "-n", "--regenerate")
    assert project.poetry("pinwarden", "check").code == 1
    audit = project.poetry("pinwarden", "audit")
    assert audit.code in (1, 2) and "Traceback" not in audit.output, audit.output
    (project.path / ".venv").rename(project.path / "old-venv")
    done = project.poetry("install", "-n")
    assert done.code == 1, done.output
    assert project.installed() == {}


@pytest.mark.parametrize("algorithm", ["sha512", "sha384"])
def test_an_honest_switch_is_verified_from_the_bytes_and_recorded(
    index: ForgingIndex, project: Project, algorithm: str
) -> None:
    index.listed[WHEEL[0]] = {algorithm: hexdigest(WHEEL[1], algorithm)}
    done = project.ok("lock", "-n", "--regenerate")
    assert "matches its trusted hash" in done.output
    assert f"{algorithm}:{hexdigest(WHEEL[1], algorithm)}" in project.ledger_text()
    assert project.ok("pinwarden", "check").code == 0


# -- pinwarden approve --from-index: every file hashed by pinwarden ------------------------------------


@pytest.mark.parametrize(
    "listed",
    [
        lambda: {"sha256": hexdigest(EVIL_BYTES, "sha256")},
        lambda: {"sha256": hexdigest(WHEEL[1], "sha256"), "sha512": hexdigest(EVIL_BYTES, "sha512")},
        lambda: {"sha512": hexdigest(EVIL_BYTES, "sha512")},
        lambda: {"md5": hexdigest(EVIL_BYTES, "md5")},
    ],
    ids=["sha256-lies", "sha512-lies-beside-sha256", "sha512-alone-lies", "md5-lies"],
)
@pytest.mark.parametrize("page", ["json", "html"])
def test_approve_from_index_refuses_a_page_whose_hash_lies(
    index: ForgingIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listed: object, page: str
) -> None:
    publish_base(index)
    index.json_enabled = page == "json"
    index.listed = {WHEEL[0]: listed()}  # type: ignore[operator]
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    code = main(["approve", f"{ALPHA}==1.0", "--from-index", index.url], out, err)
    assert code == 2, out.getvalue() + err.getvalue()
    assert err.getvalue().startswith("pinwarden: error:") and err.getvalue().count("\n") == 1
    assert WHEEL[0] in err.getvalue()
    assert not (tmp_path / "pinwarden-ledger.toml").exists()


def test_approve_from_index_records_hashes_it_computed(
    index: ForgingIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_base(index)
    index.listed = {WHEEL[0]: {"sha512": hexdigest(WHEEL[1], "sha512")}}
    monkeypatch.chdir(tmp_path)
    code = main(["approve", f"{ALPHA}==1.0", "--from-index", index.url], io.StringIO(), io.StringIO())
    assert code == 0
    assert f"sha256:{hexdigest(WHEEL[1], 'sha256')}" in (tmp_path / "pinwarden-ledger.toml").read_text()


def test_audit_reports_a_page_that_lists_a_hash_of_other_bytes(
    index: ForgingIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger trusts sha256; the page lists only a sha512, of other bytes, for the real file.
    audit downloads the file, and the same bytes must give the listed hash: an error, not a pass."""
    publish_base(index)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PINWARDEN_CACHE_DIR", str(tmp_path / "cache"))
    digest = hexdigest(WHEEL[1], "sha256")
    (tmp_path / "requirements.txt").write_text(
        f"--index-url {index.url}\n\n{ALPHA}==1.0 --hash=sha256:{digest}\n"
    )
    assert main(["init"], io.StringIO(), io.StringIO()) == 0
    for listed in ({"sha512": hexdigest(EVIL_BYTES, "sha512")}, {"sha384": hexdigest(b"", "sha384")}):
        index.listed = {WHEEL[0]: listed}
        out, err = io.StringIO(), io.StringIO()
        code = main(["audit", "--no-cache"], out, err)
        assert code == 2, out.getvalue() + err.getvalue()
        assert "serves other bytes than it lists" in err.getvalue()
    index.listed = {WHEEL[0]: {"sha512": hexdigest(WHEEL[1], "sha512")}}
    assert main(["audit", "--no-cache"], io.StringIO(), io.StringIO()) in (0, 1)
