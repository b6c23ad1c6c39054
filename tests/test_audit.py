"""`pinwarden audit` against indexes served on 127.0.0.1: exactly the injected changes and signs.

Every scenario runs against PEP 691 JSON (with PEP 700 upload times) and PEP 503 HTML (without):
the late-upload sign needs upload times, so only the JSON variant expects it.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, build_sdist, build_wheel

from pinwarden.cli import main

ALPHA, BETA, GAMMA = "pwdemo-alpha", "pwdemo-beta", "pwdemo-gamma"
T0 = "2024-05-01T12:00:00Z"
LATER = "2025-06-01T00:00:00Z"  # more than 14 days after T0, before the ledger's trust time
A_WHEEL = build_wheel(ALPHA, "1.0", marker="a-wheel")
A_SDIST = build_sdist(ALPHA, "1.0", marker="a-sdist")
B_LINUX = build_wheel(BETA, "2.0", python_tag="cp311", abi="cp311", platform="manylinux2014_x86_64")
B_WIN = build_wheel(BETA, "2.0", python_tag="cp311", abi="cp311", platform="win_amd64")
EPOCH = "1780000000"  # 2026-05-28T20:26:40Z: when the tests' ledgers are written

Seen = set[tuple[str, str, str, str | None]]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    for key in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "NETRC"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")  # this machine's pip.conf is not the test's
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return tmp_path


@pytest.fixture(params=["pep691", "pep503"])
def index(request: pytest.FixtureRequest) -> Iterator[PackageIndex]:
    index = PackageIndex()
    index.json_enabled = request.param == "pep691"
    index.add(ALPHA, "1.0", *A_WHEEL, upload_time=T0)
    index.add(ALPHA, "1.0", *A_SDIST, upload_time=T0)
    index.add(BETA, "2.0", *B_LINUX, upload_time=T0)
    index.add(BETA, "2.0", *B_WIN, upload_time=T0)
    with index.serve():
        yield index


def requirements(url: str, *pins: tuple[str, str, list[bytes]], extra: str = "") -> str:
    lines = [f"--index-url {url}"] + ([f"--extra-index-url {extra}"] if extra else []) + [""]
    for name, version, datas in pins:
        hashes = " ".join(f"--hash={sha256(d)}" for d in datas)
        lines.append(f"{name}=={version} {hashes}")
    return "\n".join(lines) + "\n"


PINS = [(ALPHA, "1.0", [A_WHEEL[1], A_SDIST[1]]), (BETA, "2.0", [B_LINUX[1], B_WIN[1]])]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def audit_json(*argv: str) -> tuple[int, dict[str, object]]:
    code, out, err = run("audit", "--format", "json", *argv)
    assert out, err
    return code, json.loads(out)


def kinds(report: dict[str, object]) -> Seen:
    findings = report["findings"]
    assert isinstance(findings, list)
    return {(f["kind"], f["project"], f["version"], f["filename"]) for f in findings}


@pytest.fixture
def adopted(index: PackageIndex, isolated: Path) -> PackageIndex:
    """A project whose locks were adopted, and whose first audit recorded the baseline."""
    (isolated / "requirements.txt").write_text(requirements(index.url, *PINS))
    assert run("init")[0] == 0
    code, out, err = run("audit")
    assert (code, err) == (0, ""), out
    assert "recorded what the index serves for 2 version(s)" in out
    return index


def test_an_unchanged_index_gives_nothing(adopted: PackageIndex, isolated: Path) -> None:
    ledger = (isolated / "pinwarden-ledger.toml").read_bytes()
    baseline = (isolated / "pinwarden-baseline.toml").read_bytes()
    code, out, err = run("audit")
    assert (code, err) == (0, "")
    assert (
        out == "pinwarden: audited 2 locked version(s) on 2 project page(s), 2 request(s): nothing changed\n"
    )
    code, report = audit_json()
    assert code == 0 and report["findings"] == [] and report["errors"] == []
    # An audit never writes trust, and writes the baseline once.
    assert (isolated / "pinwarden-ledger.toml").read_bytes() == ledger
    assert (isolated / "pinwarden-baseline.toml").read_bytes() == baseline


def _build_tagged_late(index: PackageIndex) -> None:
    index.add(ALPHA, "1.0", *build_wheel(ALPHA, "1.0", build_tag=1), upload_time=LATER)


def _sdist_replaced(index: PackageIndex) -> None:
    index.replace(ALPHA, A_SDIST[0], build_sdist(ALPHA, "1.0", marker="evil")[1])


def _wheel_deleted(index: PackageIndex) -> None:
    index.remove(ALPHA, A_WHEEL[0])


def _sdist_yanked(index: PackageIndex) -> None:
    index.yank(ALPHA, A_SDIST[0], "broken build")


def _version_yanked(index: PackageIndex) -> None:
    index.yank(ALPHA, A_SDIST[0], "broken build")
    index.yank(ALPHA, A_WHEEL[0], "broken build")


def _sdist_added_to_wheels(index: PackageIndex) -> None:
    index.add(BETA, "2.0", *build_sdist(BETA, "2.0"), upload_time=LATER)


def _version_gone(index: PackageIndex) -> None:
    index.remove(BETA, B_LINUX[0])
    index.remove(BETA, B_WIN[0])


A_TAGGED = build_wheel(ALPHA, "1.0", build_tag=1)[0]
B_SDIST = build_sdist(BETA, "2.0")[0]
SCENARIOS: list[tuple[Callable[[PackageIndex], None], Seen, Seen]] = [
    # (change, expected findings, expected only with upload times)
    (
        _build_tagged_late,
        {("new-file", ALPHA, "1", A_TAGGED), ("build-tag", ALPHA, "1", A_TAGGED)},
        {("late-upload", ALPHA, "1", A_TAGGED)},
    ),
    (_sdist_replaced, {("changed-file", ALPHA, "1", A_SDIST[0])}, set()),
    (_wheel_deleted, {("missing-file", ALPHA, "1", A_WHEEL[0])}, set()),
    (_sdist_yanked, {("yanked", ALPHA, "1", A_SDIST[0])}, set()),
    (_version_yanked, {("yanked", ALPHA, "1", None)}, set()),
    (
        _sdist_added_to_wheels,
        {("new-file", BETA, "2", B_SDIST), ("sdist-added", BETA, "2", B_SDIST)},
        {("late-upload", BETA, "2", B_SDIST)},
    ),
    (_version_gone, {("version-gone", BETA, "2", None)}, set()),
]


@pytest.mark.parametrize(
    ("change", "expected", "timed"), SCENARIOS, ids=[s[0].__name__[1:] for s in SCENARIOS]
)
def test_exactly_the_injected_change(
    adopted: PackageIndex, change: Callable[[PackageIndex], None], expected: Seen, timed: Seen
) -> None:
    change(adopted)
    code, report = audit_json()
    assert code == 1
    assert kinds(report) == expected | (timed if adopted.json_enabled else set())
    # The finding stays until someone acts: the baseline does not swallow it.
    assert kinds(audit_json()[1]) == kinds(report)


def test_text_report_explains_each_sign_in_one_sentence(adopted: PackageIndex) -> None:
    _build_tagged_late(adopted)
    _sdist_replaced(adopted)
    code, out, _ = run("audit")
    assert code == 1
    assert "WARNING: THE CONTENT OF A TRUSTED FILE HAS CHANGED!" in out
    assert f"  CHANGED     {A_SDIST[0]}" in out
    assert f"                trusted {sha256(A_SDIST[1])}" in out
    assert f"  warning     {A_TAGGED}: build tag 1: installers prefer this wheel" in out
    if adopted.json_enabled:
        assert (
            f"  warning     {A_TAGGED}: late upload: added 395.5 days after the version's first file" in out
        )
    changed = f"--hash {sha256(build_sdist(ALPHA, '1.0', marker='evil')[1])} --replace"
    assert f'  pinwarden approve {ALPHA}==1 --from-index {changed} --reason "WHY"' in out
    assert f'  pinwarden acknowledge {ALPHA}==1 --reason "WHY"' in out


def test_json_carries_the_evidence(adopted: PackageIndex) -> None:
    if not adopted.json_enabled:
        pytest.skip("upload times come with PEP 691 JSON only")
    _build_tagged_late(adopted)
    _, report = audit_json()
    findings = report["findings"]
    assert isinstance(findings, list)
    late = next(f for f in findings if f["kind"] == "late-upload")
    assert late["evidence"] == {
        "index": [adopted.url],
        "first_file": A_WHEEL[0],
        "first_upload": T0,
        "upload_time": LATER,
        "gap_days": 395.5,
        "limit_days": 14,
        "files": [{"filename": A_TAGGED, "upload_time": LATER, "gap_days": 395.5}],
    }
    assert late["blocking"] is True  # a build tag: never information
    tag = next(f for f in findings if f["kind"] == "build-tag")
    assert tag["evidence"]["outranks"] == [A_WHEEL[0]]  # type: ignore[index]


def test_update_baseline_acknowledges_files_left_out_not_changed_trust(adopted: PackageIndex) -> None:
    _build_tagged_late(adopted)
    _sdist_replaced(adopted)
    assert run("audit", "--update-baseline")[0] == 1
    _, report = audit_json()
    # The new file is now seen (still not trusted); the trusted file's new bytes stay reported.
    assert kinds(report) == {("changed-file", ALPHA, "1", A_SDIST[0])}


def test_seen_is_never_trusted(adopted: PackageIndex, isolated: Path) -> None:
    """A file in the baseline is still a new file for check, the Poetry plugin and the wrapper."""
    tagged = build_wheel(ALPHA, "1.0", build_tag=1)
    adopted.add(ALPHA, "1.0", *tagged, upload_time=LATER)
    run("audit", "--update-baseline")
    assert tagged[0] in (isolated / "pinwarden-baseline.toml").read_text()
    pins = [(ALPHA, "1.0", [A_WHEEL[1], A_SDIST[1], tagged[1]]), PINS[1]]
    (isolated / "requirements.txt").write_text(requirements(adopted.url, *pins))
    code, out, _ = run("check")
    assert code == 1 and "NEW FILE" in out


def test_approve_from_index_then_relock_settles_the_finding(adopted: PackageIndex, isolated: Path) -> None:
    tagged = build_wheel(ALPHA, "1.0", build_tag=1)
    adopted.add(ALPHA, "1.0", *tagged, upload_time=LATER)
    code, out, _ = run("approve", f"{ALPHA}==1.0", "--from-index", adopted.url, "--reason", "rebuilt")
    assert code == 0, out
    # Trusted now, but the lock does not pin it yet: check and audit say so until it is relocked.
    assert kinds(audit_json()[1]) == {("missing-file", ALPHA, "1", tagged[0])}
    pins = [(ALPHA, "1.0", [A_WHEEL[1], A_SDIST[1], tagged[1]]), PINS[1]]
    (isolated / "requirements.txt").write_text(requirements(adopted.url, *pins))
    assert audit_json() == (0, audit_json()[1]) and kinds(audit_json()[1]) == set()


def test_a_locked_version_never_trusted_is_new_with_its_signs(adopted: PackageIndex, isolated: Path) -> None:
    # alpha 1.0 had a wheel and an sdist; 1.1 ships its wheel and, a year on, an sdist: a late sdist.
    wheel, sdist = build_wheel(ALPHA, "1.1"), build_sdist(ALPHA, "1.1")
    adopted.add(ALPHA, "1.1", *wheel, upload_time=T0)
    adopted.add(ALPHA, "1.1", *sdist, upload_time=LATER)
    pins = [(ALPHA, "1.1", [wheel[1], sdist[1]]), PINS[1]]
    (isolated / "requirements.txt").write_text(requirements(adopted.url, *pins))
    code, report = audit_json()
    assert code == 1
    expected = {("new-version", ALPHA, "1.1", None)}
    if adopted.json_enabled:  # upload times come with PEP 691 JSON only
        expected |= {("late-upload", ALPHA, "1.1", sdist[0]), ("sdist-added", ALPHA, "1.1", sdist[0])}
    assert kinds(report) == expected


def test_first_look_reports_what_came_after_trust_and_records_the_rest(
    index: PackageIndex, isolated: Path
) -> None:
    """Before any baseline: a file the lock leaves out that existed when the version was trusted
    is taken as left out on purpose; one uploaded after it cannot have been."""
    old_platform = build_wheel(ALPHA, "1.0", python_tag="cp27", abi="cp27mu", platform="manylinux1_x86_64")
    after_trust = build_wheel(ALPHA, "1.0", python_tag="cp314", abi="cp314", platform="win_amd64")
    index.add(ALPHA, "1.0", *old_platform, upload_time=T0)
    (isolated / "requirements.txt").write_text(requirements(index.url, *PINS))
    assert run("init")[0] == 0
    index.add(ALPHA, "1.0", *after_trust, upload_time="2026-06-01T00:00:00Z")
    code, report = audit_json()
    baseline = (isolated / "pinwarden-baseline.toml").read_text()
    assert old_platform[0] in baseline
    if index.json_enabled:
        assert code == 1
        assert kinds(report) == {
            ("new-file", ALPHA, "1", after_trust[0]),
            ("late-upload", ALPHA, "1", after_trust[0]),
        }
        assert after_trust[0] not in baseline  # reported, so not recorded as seen
    else:  # no upload times: all that is served is the baseline
        assert code == 0 and kinds(report) == set()
        assert after_trust[0] in baseline


def test_a_file_seen_earlier_that_changes_is_new(adopted: PackageIndex, isolated: Path) -> None:
    left_out = build_wheel(ALPHA, "1.0", python_tag="cp27", abi="cp27mu", platform="manylinux1_x86_64")
    adopted.add(ALPHA, "1.0", *left_out, upload_time=T0)
    run("audit", "--update-baseline")
    adopted.replace(ALPHA, left_out[0], b"other bytes")
    _, report = audit_json()
    assert kinds(report) == {("new-file", ALPHA, "1", left_out[0])}
    (finding,) = report["findings"]  # type: ignore[misc]
    assert finding["detail"].startswith("served with other bytes than when the audit first saw it")
    assert finding["evidence"]["seen_hashes"] == [sha256(left_out[1])]


def test_a_project_the_index_does_not_have(index: PackageIndex, isolated: Path) -> None:
    pins = [*PINS, (GAMMA, "1.0", [b"gamma"])]
    (isolated / "requirements.txt").write_text(requirements(index.url, *pins))
    assert run("init")[0] == 0
    code, out, _ = run("audit")
    assert code == 1
    assert f"{GAMMA} 1" in out and "GONE        the index no longer serves this project" in out


def test_trusted_versions_that_vanished_suggest_a_recreated_project(
    adopted: PackageIndex, isolated: Path
) -> None:
    older = build_wheel(ALPHA, "0.9")
    adopted.add(ALPHA, "0.9", *older, upload_time=T0)
    assert run("approve", f"{ALPHA}==0.9", "--from-index", adopted.url)[0] == 0
    adopted.remove(ALPHA, older[0])
    _, report = audit_json()
    assert kinds(report) == {("project-recreated", ALPHA, "1", None)}
    (finding,) = report["findings"]  # type: ignore[misc]
    assert finding["evidence"]["vanished_versions"] == ["0.9"]


def test_several_indexes_are_merged_as_pip_merges_them(isolated: Path) -> None:
    main_index, extra = PackageIndex(), PackageIndex()
    main_index.add(ALPHA, "1.0", *A_WHEEL, upload_time=T0)
    extra.add(ALPHA, "1.0", *A_SDIST, upload_time=T0)
    with main_index.serve(), extra.serve():
        pin = (ALPHA, "1.0", [A_WHEEL[1], A_SDIST[1]])
        (isolated / "requirements.txt").write_text(requirements(main_index.url, pin, extra=extra.url))
        assert run("init")[0] == 0
        assert run("audit")[0] == 0
        extra.replace(ALPHA, A_SDIST[0], b"swapped on the extra index")
        _, report = audit_json()
        assert kinds(report) == {("changed-file", ALPHA, "1", A_SDIST[0])}
        (finding,) = report["findings"]  # type: ignore[misc]
        assert finding["evidence"]["index"] == [main_index.url, extra.url]


@pytest.mark.parametrize("how", ["environment", "pip.conf", "option"])
def test_pip_configuration_and_options_name_the_index(
    how: str, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = PackageIndex()
    served.add(ALPHA, "1.0", *A_WHEEL, upload_time=T0)
    with served.serve():
        (isolated / "requirements.txt").write_text(f"{ALPHA}==1.0 --hash={sha256(A_WHEEL[1])}\n")
        assert run("init")[0] == 0
        extra: list[str] = []
        if how == "environment":
            monkeypatch.setenv("PIP_INDEX_URL", served.url)
        elif how == "pip.conf":
            (isolated / "pip.conf").write_text(f"[global]\nindex-url = {served.url}\n")
            monkeypatch.setenv("PIP_CONFIG_FILE", str(isolated / "pip.conf"))
        else:
            extra = ["--index-url", served.url]
        code, out, err = run("audit", *extra)
        assert (code, err) == (0, ""), out
        assert served.requests == [f"/simple/{ALPHA}/"]


def test_audit_json_follows_the_schema(adopted: PackageIndex) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).parents[1] / "docs" / "findings.schema.json").read_text())
    _build_tagged_late(adopted)
    _sdist_replaced(adopted)
    _, report = audit_json()
    jsonschema.validate(report, schema)
    assert set(report) == {"findings", "errors", "ledger", "baseline", "recorded", "requests"}
