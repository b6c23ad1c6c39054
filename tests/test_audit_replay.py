"""Real cases, replayed: recorded PyPI pages served from 127.0.0.1 through the real client path.

A lock is written as it would have been when the version was fresh (its files of the first 14 days),
adopted, and audited once against that state (the baseline). The index then serves the page as
PyPI recorded it years later, and the audit must report exactly the files added since, with the
warning signs they deserve. The pages are trimmed copies in tests/data/index/replay; the tests
that read the full corpus skip when it is absent.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_version
from tests.support.replay import CORPUS, ReplayIndex, normalize, recorded_page

from pinwarden.cli import main
from pinwarden.shared.audit import installer_of
from pinwarden.shared.filenames import parse_filename, same_version
from pinwarden.shared.index.simple import parse_json_page
from pinwarden.shared.model import normalize_name
from pinwarden.shared.signs import late_filenames, late_uploads, parse_time

Findings = set[tuple[str, str | None]]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    return tmp_path


def version_files(page: dict[str, Any], version: str) -> list[dict[str, Any]]:
    project = normalize(page["name"])
    return [
        f
        for f in page["files"]
        if (p := parse_filename(f["filename"])).name == project
        and p.version is not None
        and same_version(p.version, version)
    ]


def as_of(page: dict[str, Any], version: str, days: int = 14) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The page as the index served it `days` after the version's first file, and those files."""
    files = version_files(page, version)
    first = min(parse_time(f["upload-time"]) for f in files)  # type: ignore[type-var]
    cutoff = first + timedelta(days=days)  # type: ignore[operator]
    then = copy.deepcopy(page)
    then["files"] = [f for f in page["files"] if parse_time(f["upload-time"]) <= cutoff]  # type: ignore[operator]
    return then, [f for f in files if parse_time(f["upload-time"]) <= cutoff]  # type: ignore[operator]


def poetry_lock(name: str, version: str, files: list[dict[str, Any]]) -> str:
    entries = "".join(
        f'    {{file = "{f["filename"]}", hash = "sha256:{f["hashes"]["sha256"]}"}},\n' for f in files
    )
    return (
        f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = ""\noptional = false\n'
        f'python-versions = "*"\nfiles = [\n{entries}]\n\n'
        '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
    )


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(params=["pep691", "pep503"])
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def replay_case(
    project: str, version: str, variant: str, *, corpus: bool = False
) -> Iterator[dict[str, Any]]:
    """Adopt the lock of the version's first days, baseline, then serve today's page; yield the report."""
    page = recorded_page(project, corpus=corpus)
    then, locked = as_of(page, version)
    index = ReplayIndex({project: then})
    index.json_enabled = variant == "pep691"
    with index.serve():
        Path("poetry.lock").write_text(poetry_lock(project, version, locked))
        assert run("init")[0] == 0
        code, out, err = run("audit", "--index-url", index.url)
        assert (code, err) == (0, ""), out
        index.pages[normalize(project)] = page
        code, out, err = run("audit", "--index-url", index.url, "--format", "json")
        assert err == ""
        report = json.loads(out)
        report["exit"] = code
        yield report


def findings(report: dict[str, Any], project: str, version: str) -> Findings:
    """The report's (kind, filename) pairs; each finding names the version in its canonical form."""
    canonical = canonicalize_version(version)  # "3.0.0" -> "3", as pinwarden reports every version
    assert {(f["project"], f["version"]) for f in report["findings"]} <= {(project, canonical)}
    return {(f["kind"], f["filename"]) for f in report["findings"]}


def late_signed(report: dict[str, Any]) -> dict[bool, set[str]]:
    """The files each late-upload finding speaks for, by whether it blocks (one finding per batch)."""
    signed: dict[bool, set[str]] = {}
    for f in report["findings"]:
        if f["kind"] == "late-upload":
            signed.setdefault(f["blocking"], set()).update(e["filename"] for e in f["evidence"]["files"])
    return signed


def late_names(page: dict[str, Any], version: str, days: int = 14) -> set[str]:
    then = as_of(page, version, days)[1]
    return {f["filename"] for f in version_files(page, version)} - {f["filename"] for f in then}


def test_wrapt_1_14_1_cp311_wheels_523_days_late(variant: str) -> None:
    (report,) = replay_case("wrapt", "1.14.1", variant)
    late = late_names(recorded_page("wrapt"), "1.14.1")
    assert len(late) == 10 and all("-cp311-" in name for name in late)
    if variant == "pep503":  # no upload times: nothing tells a new interpreter's batch, so it asks
        assert report["exit"] == 1 and findings(report, "wrapt", "1.14.1") == {("new-file", n) for n in late}
        return
    # Wheels for an interpreter the release had none for: information, one finding, never a failure.
    assert report["exit"] == 0 and findings(report, "wrapt", "1.14.1") == {("late-upload", None)}
    assert late_signed(report) == {False: late}
    (finding,) = report["findings"]
    assert round(finding["evidence"]["gap_days"]) == 523


def test_markupsafe_1_1_1_wheels_added_for_new_pythons(variant: str) -> None:
    (report,) = replay_case("markupsafe", "1.1.1", variant)
    late = late_names(recorded_page("markupsafe"), "1.1.1")
    assert len(late) == 24
    if variant == "pep503":
        assert findings(report, "markupsafe", "1.1.1") == {("new-file", n) for n in late}
        return
    signed = late_signed(report)
    assert signed.get(False, set()) | signed.get(True, set()) == late and signed[False]
    expected = {("new-file", n) for n in signed.get(True, set())} | {("late-upload", None)}
    assert {k for k in findings(report, "markupsafe", "1.1.1") if k[0] != "late-upload"} | {
        ("late-upload", None)
    } == expected
    gaps = [f["evidence"]["gap_days"] for f in report["findings"] if f["kind"] == "late-upload"]
    assert round(max(gaps)) == 706


def test_nodeenv_1_3_4_sdist_added_late(variant: str) -> None:
    (report,) = replay_case("nodeenv", "1.3.4", variant)
    expected = {("new-file", "nodeenv-1.3.4.tar.gz"), ("sdist-added", "nodeenv-1.3.4.tar.gz")}
    if variant == "pep691":
        expected.add(("late-upload", "nodeenv-1.3.4.tar.gz"))
    assert findings(report, "nodeenv", "1.3.4") == expected
    sdist = next(f for f in report["findings"] if f["kind"] == "sdist-added")
    assert sdist["evidence"]["trusted_files"] == ["nodeenv-1.3.4-py2.py3-none-any.whl"]


def test_snowflake_3_0_0_build_tagged_wheels(variant: str) -> None:
    (report,) = replay_case("snowflake-connector-python", "3.0.0", variant)
    tagged = late_names(recorded_page("snowflake-connector-python"), "3.0.0")
    assert len(tagged) == 4 and all("-3.0.0-1-" in name for name in tagged)
    expected = {("new-file", n) for n in tagged} | {("build-tag", n) for n in tagged}
    if variant == "pep691":  # build tags are never information: one blocking line for the batch
        expected.add(("late-upload", None))
        assert late_signed(report) == {True: tagged}
    assert findings(report, "snowflake-connector-python", "3.0.0") == expected
    for finding in report["findings"]:
        if finding["kind"] == "build-tag":
            (original,) = finding["evidence"]["outranks"]
            assert original == finding["filename"].replace("-3.0.0-1-", "-3.0.0-")


@pytest.mark.parametrize("version", ["2.0.0", "1.0.2"])
def test_cffi_filename_traps_are_not_another_version(version: str, variant: str) -> None:
    """`cffi-1.0.2-2.tar.gz` parses as version 2 of `cffi-1-0-2`: it is neither cffi 2.0.0's file
    nor a file missing from cffi 1.0.2, whose files the index yanked long ago."""
    page = recorded_page("cffi")
    locked = version_files(page, version)
    if version == "1.0.2":
        locked.append(next(f for f in page["files"] if f["filename"] == "cffi-1.0.2-2.tar.gz"))
    index = ReplayIndex({"cffi": page})
    index.json_enabled = variant == "pep691"
    with index.serve():
        Path("poetry.lock").write_text(poetry_lock("cffi", version, locked))
        assert run("init")[0] == 0
        code, out, err = run("audit", "--index-url", index.url, "--format", "json")
    report = json.loads(out)
    assert err == ""
    if version == "2.0.0":
        assert (code, report["findings"]) == (0, [])
    else:  # every file of 1.0.2 is yanked: one sign for the version, nothing missing or new
        assert code == 1 and findings(report, "cffi", "1.0.2") == {("yanked", None)}
        assert report["findings"][0]["evidence"]["reasons"] == [
            'the version "1.0.2-2" makes bugs in pip apparent'
        ]


def test_first_look_with_upload_times_reports_what_came_after_the_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No earlier audit: the ledger's trust time stands in for the baseline (PEP 691 upload times)."""
    page = recorded_page("wrapt")
    _, locked = as_of(page, "1.14.1")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1654041600")  # 2022-06-01: trusted before the cp311 wheels
    index = ReplayIndex({"wrapt": page})
    with index.serve():
        Path("poetry.lock").write_text(poetry_lock("wrapt", "1.14.1", locked))
        assert run("init")[0] == 0
        code, out, _ = run("audit", "--index-url", index.url)
    # The cp311 wheels came after the trust: reported, in one line, as information (exit 0).
    assert code == 0, out
    assert "NEW FILE" not in out and out.count("late upload") == 1
    assert (
        "  info        late upload (information): 10 files added 523.13 days after the version's "
        "first file (2022-05-02 to 2023-10-07)" in out
    )
    assert "CPython 3.11 on 10 platforms" in out


# -- the full corpus, when present ----------------------------------------------------------------

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not present")
NIGHTLY = os.environ.get("PINWARDEN_NIGHTLY") == "1"
SAMPLE_PROJECTS = {"coverage", "setuptools", "nodeenv", "markupsafe", "wrapt", "aiobotocore", "scipy"}


@needs_corpus
@pytest.mark.parametrize(
    ("project", "version", "kinds"),
    [
        ("wrapt", "1.14.1", {"late-upload"}),  # information: the cp311 wheels are recorded as seen
        ("markupsafe", "1.1.1", {"new-file", "late-upload"}),
        ("nodeenv", "1.3.4", {"new-file", "late-upload", "sdist-added"}),
        ("snowflake-connector-python", "3.0.0", {"new-file", "late-upload", "build-tag"}),
    ],
)
def test_full_recorded_pages(project: str, version: str, kinds: set[str]) -> None:
    (report,) = replay_case(project, version, "pep691", corpus=True)
    assert {kind for kind, _ in findings(report, project, version)} == kinds


@needs_corpus
def test_every_recorded_late_upload_is_signed() -> None:
    """late_uploads.tsv (gaps over 30 days, all 300 projects): each late file gets the sign."""
    with (CORPUS.parent / "late_uploads.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not NIGHTLY:  # the nightly run reads all 300 pages; by default a handful of known cases
        rows = [r for r in rows if r["project"] in SAMPLE_PROJECTS]
    assert rows
    pages: dict[str, Any] = {}
    for row in rows:
        project = row["project"]
        if project not in pages:
            pages[project] = parse_json_page(json.dumps(recorded_page(project, corpus=True)), "https://x/")
        name = normalize_name(project)
        files = [
            f
            for f in pages[project]
            if (
                (p := parse_filename(f.filename)).name == name
                and same_version(p.version or "", row["version"])
            )
            or (p.name is None and installer_of(f.filename, name, row["version"]))
        ]
        signed = {n for s in late_uploads(files, 30) for n in late_filenames(s.filename, s.evidence)}
        listed = {n for n in row["late_filenames"].split(";") if n}
        assert listed <= signed, (project, row["version"], listed - signed)
