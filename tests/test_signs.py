"""Warning signs from index data (shared/signs.py): pure functions over IndexFiles and filenames."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pinwarden.shared.index.simple import IndexFile
from pinwarden.shared.model import (
    FileHash,
    FindingKind,
    NormalizedName,
    TrustedFile,
    TrustedRelease,
    TrustEvent,
    TrustHow,
)
from pinwarden.shared.signs import (
    build_tag,
    last_trusted,
    late_uploads,
    parse_time,
    project_recreated,
    sdist_added_late,
    sdist_added_to_wheels,
    shape_change,
    yanked,
)

DEMO = NormalizedName("demo")


def file(name: str, at: str | None = None, yank: bool | str = False) -> IndexFile:
    return IndexFile(filename=name, url=f"https://files.example/{name}", upload_time=at, yanked=yank)


def trusted(version: str, *names: str, at: str = "2024-01-01T00:00:00Z") -> TrustedRelease:
    files = tuple(TrustedFile(filename=n, hashes=(FileHash("sha256", "0" * 64),)) for n in names)
    history = (TrustEvent(how=TrustHow.INIT, at=at),)
    return TrustedRelease(name=DEMO, version=version, files=files, history=history)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-05-02T05:26:13.235405Z", datetime(2022, 5, 2, 5, 26, 13, 235405, tzinfo=timezone.utc)),
        ("2022-05-02T05:26:13Z", datetime(2022, 5, 2, 5, 26, 13, tzinfo=timezone.utc)),
        ("2022-05-02T07:26:13+02:00", datetime(2022, 5, 2, 5, 26, 13, tzinfo=timezone.utc)),
        ("2022-05-02T05:26:13", datetime(2022, 5, 2, 5, 26, 13, tzinfo=timezone.utc)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_upload_times(text: str | None, expected: datetime | None) -> None:
    assert parse_time(text) == expected


def test_late_upload_is_past_the_window_only() -> None:
    files = [
        file("demo-1.0.tar.gz", "2024-01-01T00:00:00Z"),
        file("demo-1.0-py3-none-any.whl", "2024-01-15T00:00:00Z"),  # exactly 14 days: within
        file("demo-1.0-cp311-cp311-win_amd64.whl", "2024-01-15T00:00:01Z"),
        file("demo-1.0-cp312-cp312-win_amd64.whl"),  # no time: no claim either way
    ]
    (sign,) = late_uploads(files, 14)
    assert (sign.kind, sign.filename) == (FindingKind.LATE_UPLOAD, "demo-1.0-cp311-cp311-win_amd64.whl")
    assert sign.evidence == {
        "first_file": "demo-1.0.tar.gz",
        "first_upload": "2024-01-01T00:00:00Z",
        "upload_time": "2024-01-15T00:00:01Z",
        "gap_days": 14.0,
        "limit_days": 14,
        "files": [
            {
                "filename": "demo-1.0-cp311-cp311-win_amd64.whl",
                "upload_time": "2024-01-15T00:00:01Z",
                "gap_days": 14.0,
            }
        ],
    }
    assert sign.blocking  # a pure-Python wheel came on time: the cp311 wheel takes its place on Windows
    assert "added 14 days after the version's first file (2024-01-01 to 2024-01-15)" in sign.detail
    assert (
        late_uploads(files, 0, only=["demo-1.0-py3-none-any.whl"])[0].filename == "demo-1.0-py3-none-any.whl"
    )
    assert late_uploads(files, 30) == []


def test_build_tag_names_the_wheel_it_outranks() -> None:
    served = ["demo-1.0-py3-none-any.whl", "demo-1.0-1-py3-none-any.whl", "demo-1.0-cp311-cp311-win32.whl"]
    sign = build_tag("demo-1.0-1-py3-none-any.whl", served)
    assert sign is not None and sign.evidence == {"build_tag": "1", "outranks": ["demo-1.0-py3-none-any.whl"]}
    assert build_tag("demo-1.0-py3-none-any.whl", served) is None
    assert build_tag("demo-1.0.tar.gz") is None


def test_sdist_added_to_a_version_trusted_with_wheels_only() -> None:
    wheels_only = trusted("1.0", "demo-1.0-py3-none-any.whl")
    sign = sdist_added_to_wheels("demo-1.0.tar.gz", wheels_only)
    assert sign is not None and sign.kind is FindingKind.SDIST_ADDED
    assert sign.evidence == {"trusted_files": ["demo-1.0-py3-none-any.whl"]}
    assert sdist_added_to_wheels("demo-1.0.tar.gz", trusted("1.0", "demo-1.0.zip")) is None
    assert sdist_added_to_wheels("demo-1.0-cp39-cp39-win32.whl", wheels_only) is None


def test_sdist_added_late_needs_wheels_first_and_a_gap() -> None:
    late = [
        file("demo-1.0-py3-none-any.whl", "2020-01-07T00:00:00Z"),
        file("demo-1.0.tar.gz", "2020-08-23T00:00:00Z"),
    ]
    (sign,) = sdist_added_late(late, 14)
    assert sign.filename == "demo-1.0.tar.gz" and sign.evidence["gap_days"] == 229.0
    assert sign.evidence["earlier_files"] == ["demo-1.0-py3-none-any.whl"]
    same_day = [late[0], file("demo-1.0.tar.gz", "2020-01-07T00:05:00Z")]
    assert sdist_added_late(same_day, 14) == []
    sdist_first = [file("demo-1.0.tar.gz", "2020-01-01T00:00:00Z"), late[0]]
    assert sdist_added_late(sdist_first, 14) == []


def test_yanked_version_or_file() -> None:
    both = [file("demo-1.0.tar.gz", yank="broken"), file("demo-1.0-py3-none-any.whl", yank=True)]
    (whole,) = yanked(both)
    assert whole.filename is None
    assert whole.evidence == {
        "reasons": ["broken", "no reason given"],
        "files": sorted(f.filename for f in both),
    }
    one = [both[0], file("demo-1.0-py3-none-any.whl")]
    (single,) = yanked(one)
    assert (single.filename, single.evidence) == ("demo-1.0.tar.gz", {"reason": "broken"})
    assert yanked(one, only=["demo-1.0-py3-none-any.whl"]) == []
    assert yanked([file("demo-1.0.tar.gz")]) == []


WHEELS_1_0 = [
    "demo-1.0.tar.gz",
    *(f"demo-1.0-cp3{m}-cp3{m}-{p}.whl" for m in (9, 10, 11) for p in ("win_amd64", "manylinux2014_x86_64")),
]


def wheels(
    version: str, minors: tuple[int, ...], platforms: tuple[str, ...], sdist: bool = True
) -> list[str]:
    names = [f"demo-{version}-cp3{m}-cp3{m}-{p}.whl" for m in minors for p in platforms]
    return [f"demo-{version}.tar.gz", *names] if sdist else names


def test_an_ordinary_upgrade_has_no_shape_change() -> None:
    new = wheels("1.1", (10, 11, 12), ("win_amd64", "manylinux2014_x86_64"))
    assert shape_change("1.1", new, "1.0", WHEELS_1_0) is None


def test_abi3_wheels_cover_the_versions_they_replace() -> None:
    new = [
        "demo-1.1.tar.gz",
        "demo-1.1-cp39-abi3-win_amd64.whl",
        "demo-1.1-cp39-abi3-manylinux2014_x86_64.whl",
    ]
    assert shape_change("1.1", new, "1.0", WHEELS_1_0) is None


# Ordinary release engineering, each met on real releases (benchmarks/signs_bench.py): not reported.
@pytest.mark.parametrize(
    "new",
    [
        wheels("1.1", (9, 10, 11), ("manylinux2014_x86_64",)),  # no Windows wheels
        wheels("1.1", (9, 11), ("win_amd64", "manylinux2014_x86_64")),  # no CPython 3.10
        wheels("1.1", (9, 10, 11), ("win_amd64", "manylinux2014_x86_64"), sdist=False),  # no sdist
        wheels(
            "1.1", (9, 10, 11), ("win_amd64", "manylinux2014_x86_64", "macosx_11_0_arm64")
        ),  # aiohttp 3.14
        ["demo-1.1.tar.gz", "demo-1.1-cp39-cp39-win_amd64.whl"],  # a partial upload (rapidfuzz 3.14.4)
        [*wheels("1.1", (9, 10, 11), ("win_amd64",)), "demo-1.1-py3-none-any.whl"],  # a fallback (aiohttp)
    ],
)
def test_ordinary_shape_changes_are_not_signs(new: list[str]) -> None:
    assert shape_change("1.1", new, "1.0", WHEELS_1_0) is None


def test_a_pure_python_project_dropping_its_wheel_is_not_a_sign() -> None:
    # docutils 0.21 -> 0.21.post1, iniconfig 1.0.1 -> 1.1: an sdist alone, where one wheel was.
    assert shape_change("1.1", ["demo-1.1.tar.gz"], "1.0", ["demo-1.0-py3-none-any.whl"]) is None


@pytest.mark.parametrize(
    ("new", "words", "evidence"),
    [
        (
            ["demo-1.1.tar.gz"],
            "no wheels at all, only an sdist",
            {"wheels_dropped": ["Linux", "Windows"]},
        ),
        (
            ["demo-1.1.tar.gz", "demo-1.1-py3-none-any.whl"],
            "a pure-Python wheel in place of its Linux, Windows wheels",
            {"platforms_dropped": ["Linux", "Windows"], "platforms_added": ["pure-Python"]},
        ),
    ],
)
def test_attack_shapes_are_signs(new: list[str], words: str, evidence: dict[str, object]) -> None:
    sign = shape_change("1.1", new, "1.0", WHEELS_1_0)
    assert sign is not None and sign.kind is FindingKind.SHAPE_CHANGE and sign.blocking, new
    assert words in sign.detail and "unlike 1.0, the last trusted version" in sign.detail
    assert evidence.items() <= dict(sign.evidence).items()
    assert sign.evidence["compared_with"] == "1.0"


def test_last_trusted_is_the_closest_below_else_above() -> None:
    ledger = [trusted("1.0"), trusted("1.2"), trusted("2.0"), trusted("1.10")]
    assert last_trusted(ledger, "1.11") is not None and last_trusted(ledger, "1.11").version == "1.10"  # type: ignore[union-attr]
    assert last_trusted(ledger, "0.9").version == "1"  # type: ignore[union-attr]
    assert last_trusted(ledger, "2.0.0").version == "1.10"  # type: ignore[union-attr]
    assert last_trusted([trusted("1.0")], "1.0") is None


def test_project_recreated_when_history_no_longer_reaches_back() -> None:
    old = trusted("1.0", "demo-1.0.tar.gz", at="2023-06-01T00:00:00Z")
    served = [
        file("demo-1.0.tar.gz", "2023-01-01T00:00:00Z"),
        file("demo-2.0.tar.gz", "2024-01-01T00:00:00Z"),
    ]
    assert project_recreated(served, [old]) is None
    reborn = [file("demo-2.0.tar.gz", "2024-01-01T00:00:00Z")]
    sign = project_recreated(reborn, [old])
    assert sign is not None and sign.kind is FindingKind.PROJECT_RECREATED
    assert sign.evidence == {
        "oldest_upload": "2024-01-01T00:00:00Z",
        "first_trusted": "2023-06-01T00:00:00Z",
        "vanished_versions": ["1"],
    }


def test_a_trusted_version_served_under_an_odd_filename_is_not_gone() -> None:
    """cffi 1.0.2's sdist is `cffi-1.0.2-2.tar.gz`, which parses as version 2 of `cffi-1-0-2`."""
    cffi = TrustedRelease(
        name=NormalizedName("cffi"),
        version="1.0.2",
        files=(TrustedFile(filename="cffi-1.0.2-2.tar.gz", hashes=(FileHash("sha256", "1" * 64),)),),
        history=(TrustEvent(how=TrustHow.INIT, at="2026-01-01T00:00:00Z"),),
    )
    served = [
        file("cffi-1.0.2-2.tar.gz", "2015-05-23T00:00:00Z"),
        file("cffi-2.0.0.tar.gz", "2025-09-08T00:00:00Z"),
    ]
    assert project_recreated(served, [cffi]) is None
