"""The benign/suspicious split of warning signs, on real PyPI releases (excerpts of
../shared/corpus/simple in tests/data/signs/real_releases.json: names, upload times, yanks).

Benign in kind, never a question: late wheels for interpreters or platforms no earlier wheel of
the release covered (wrapt 1.14.1's cp311 wheels, cffi 1.14.4's aarch64 wheel, kiwisolver 1.4.4's
cp311 batch, PyNaCl 1.3's cp38 Windows wheels), platforms added in a new version (aiohttp 3.14),
a pure-Python project shipping an sdist alone (docutils 0.21.post1). Still a question: a late
wheel for tags the release already covered (PyNaCl 1.4's abi3 Windows wheels beside its cp35 to
cp38 ones, cffi 1.14.5's aarch64 wheels uploaded again under other names), a late pure-Python
wheel (mypy-extensions 0.4.2), a late sdist (nodeenv 1.4). benchmarks/signs_bench.py measures the
split on every recorded project.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pinwarden.shared.audit import signs_for_review
from pinwarden.shared.compare import compare
from pinwarden.shared.decide import plan
from pinwarden.shared.index.simple import IndexFile
from pinwarden.shared.ledger import Ledger
from pinwarden.shared.model import (
    FileHash,
    Finding,
    FindingKind,
    LockedFile,
    LockedRelease,
    NormalizedName,
    TrustHow,
)
from pinwarden.shared.render import findings_text
from pinwarden.shared.signs import late_filenames, late_uploads, shape_change
from pinwarden.shared.trust import record

DATA = json.loads((Path(__file__).parent / "data" / "signs" / "real_releases.json").read_text())
DAYS = 14


def h(name: str) -> FileHash:
    return FileHash("sha256", hashlib.sha256(name.encode()).hexdigest())


def served(project: str, version: str) -> list[IndexFile]:
    return [
        IndexFile(
            filename=f["filename"],
            url=f"https://files.example/{f['filename']}",
            hashes=(h(f["filename"]),),
            upload_time=f["upload-time"],
            yanked=f["yanked"],
        )
        for f in DATA[project][version]
    ]


def locked(project: str, version: str) -> LockedRelease:
    files = tuple(LockedFile(f.filename, f.hashes[0]) for f in served(project, version))
    return LockedRelease(name=NormalizedName(project), version=version, files=files, lockfile="poetry.lock")


def first_review(project: str, version: str) -> tuple[list[Finding], tuple[Finding, ...]]:
    """A first `pinwarden pip-compile` (or `poetry lock`) meeting the version: nothing trusted yet."""
    release = locked(project, version)
    findings = list(compare(Ledger(), [release]))
    return findings, signs_for_review(Ledger(), [release], findings, {release.name: served(project, version)})


# -- benign: information, never a question ---------------------------------------------------------


@pytest.mark.parametrize(
    ("project", "version", "files", "words"),
    [
        ("wrapt", "1.14.1", 10, "CPython 3.11 on 10 platforms"),  # 523 days late, cp311 for every platform
        ("cffi", "1.14.4", 1, "CPython 3.9 Linux aarch64"),  # a platform the release had no wheel for
        ("kiwisolver", "1.4.4", 25, "CPython 3.11 on"),  # universal2 and x86_64 wheels of one batch
        ("pynacl", "1.3", 2, "CPython 3.8 on 2 platforms"),  # beside cp34..cp37 Windows wheels, a year on
    ],
)
def test_late_wheels_for_what_no_earlier_wheel_covered_are_information(
    project: str, version: str, files: int, words: str
) -> None:
    findings, signs = first_review(project, version)
    (late,) = signs  # one line for the whole batch
    assert late.kind is FindingKind.LATE_UPLOAD and not late.blocking
    assert len(late_filenames(late.filename, late.evidence)) == files
    assert words in (late.detail or "") and "(information)" in (late.detail or "")
    the_plan = plan([*findings, *signs])
    assert the_plan.first_use == ((project, version),) and the_plan.questions == ()
    assert the_plan.notes == signs


def test_wrapt_late_wheels_are_one_finding_with_per_file_evidence() -> None:
    (late,) = late_uploads(served("wrapt", "1.14.1"), DAYS)
    evidence = late.evidence["files"]
    assert isinstance(evidence, list) and len(evidence) == 10
    assert {e["filename"] for e in evidence} == {
        f["filename"] for f in DATA["wrapt"]["1.14.1"] if "cp311" in f["filename"]
    }
    assert all(e["gap_days"] > 500 for e in evidence)


def test_late_wheels_of_a_trusted_version_are_trusted_on_first_use_in_a_review() -> None:
    on_time = [f for f in served("wrapt", "1.14.1") if "cp311" not in f.filename]
    ledger = record(
        Ledger(),
        [
            LockedRelease(
                name=NormalizedName("wrapt"),
                version="1.14.1",
                files=tuple(LockedFile(f.filename, f.hashes[0]) for f in on_time),
                lockfile="poetry.lock",
            )
        ],
        how=TrustHow.FIRST_USE,
        at="2022-06-01T00:00:00Z",
    )
    release = locked("wrapt", "1.14.1")  # the lock now lists the cp311 wheels too
    findings = list(compare(ledger, [release]))
    assert sum(f.kind is FindingKind.NEW_FILE for f in findings) == 10
    signs = signs_for_review(ledger, [release], findings, {release.name: served("wrapt", "1.14.1")})
    the_plan = plan([*findings, *signs])
    assert the_plan.questions == () and the_plan.first_use == ((release.name, "1.14.1"),)
    text = findings_text([*findings, *signs], ledger_path="l", approve_prefix="pinwarden approve")
    assert text.count("NEW FILE") == 1 and "10 files:" in text and text.count("info ") == 1


@pytest.mark.parametrize(
    ("project", "old", "new"),
    [("aiohttp", "3.13.5", "3.14"), ("docutils", "0.21", "0.21.post1")],
)
def test_ordinary_real_shape_changes_are_not_signs(project: str, old: str, new: str) -> None:
    names = [f["filename"] for f in DATA[project][new]]
    assert shape_change(new, names, old, [f["filename"] for f in DATA[project][old]]) is None


# -- suspicious: still a question ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("project", "version", "late_file"),
    [
        ("pynacl", "1.4", "PyNaCl-1.4.0-cp35-abi3-win_amd64.whl"),  # outranks cp35..cp38 wheels
        ("cffi", "1.14.5", "cffi-1.14.5-cp36-cp36m-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"),
        ("mypy-extensions", "0.4.2", "mypy_extensions-0.4.2-py2.py3-none-any.whl"),  # replaces the sdist
        ("nodeenv", "1.4", "nodeenv-1.4.0.tar.gz"),  # a late sdist runs its build code at install
    ],
)
def test_late_files_for_what_the_release_covered_stay_questions(
    project: str, version: str, late_file: str
) -> None:
    findings, signs = first_review(project, version)
    blocking = [s for s in signs if s.kind is FindingKind.LATE_UPLOAD and s.blocking]
    assert len(blocking) == 1 and late_file in late_filenames(blocking[0].filename, blocking[0].evidence)
    assert [q.key for q in plan([*findings, *signs]).questions] == [(project, version)]


def test_a_build_tag_stays_a_question_even_for_a_newer_interpreter() -> None:
    files = [
        IndexFile(filename="demo-1.0-cp39-cp39-win_amd64.whl", url="u", upload_time="2024-01-01T00:00:00Z"),
        IndexFile(
            filename="demo-1.0-1-cp313-cp313-win_amd64.whl", url="u", upload_time="2024-09-01T00:00:00Z"
        ),
    ]
    (late,) = late_uploads(files, DAYS)
    assert late.blocking


def test_the_signs_benchmark_skips_cleanly_without_the_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from signs_bench import bench_signs

    assert bench_signs(tmp_path / "absent") is True
    assert "skipped: no corpus" in capsys.readouterr().out
