"""Attack round 10 on the calibrated signs: a late wheel is information only when nothing the release
holds, trusted or earlier, covers its tags; a plain `linux_*` wheel overlaps with glibc and musl
alike; a trusted file's new-algorithm hash is never information. Each case would have been trusted
on first use, silently, before the fix."""

from __future__ import annotations

import pytest

from pinwarden.shared.decide import plan
from pinwarden.shared.index.simple import IndexFile
from pinwarden.shared.model import Finding, FindingKind, NormalizedName
from pinwarden.shared.signs import _platform, _uncovered, late_uploads

T0, TRUSTED_LATE, NEXT_DAY = "2020-01-01T00:00:00Z", "2021-06-01T00:00:00Z", "2021-06-01T20:00:00Z"
BASE = [
    "demo-1.0.tar.gz",
    "demo-1.0-cp39-cp39-manylinux2014_x86_64.whl",
    "demo-1.0-cp310-cp310-win_amd64.whl",
]


def file(name: str, at: str | None) -> IndexFile:
    return IndexFile(filename=name, url=f"https://files.example/{name}", upload_time=at)


# (the trusted late wheel, the attacker's wheel within a day of it that an installer would prefer)
SIBLINGS = [
    ("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
    ("demo-1.0-cp311-cp311-manylinux2014_x86_64.whl", "demo-1.0-cp311-cp311-manylinux_2_34_x86_64.whl"),
    ("demo-1.0-cp311-cp311-musllinux_1_1_aarch64.whl", "demo-1.0-cp311-cp311-musllinux_1_2_aarch64.whl"),
    ("demo-1.0-cp311-cp311-macosx_10_9_universal2.whl", "demo-1.0-cp311-cp311-macosx_11_0_arm64.whl"),
    ("demo-1.0-cp311-cp311-win_amd64.whl", "demo-1.0-cp311.cp312-cp311.cp312-win_amd64.whl"),
    ("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "demo-1.0-cp311-cp311-linux_x86_64.whl"),
]


@pytest.mark.parametrize("trusted_at", [TRUSTED_LATE, NEXT_DAY, None], ids=["honest", "re-dated", "no-time"])
@pytest.mark.parametrize(("trusted", "attack"), SIBLINGS, ids=[a.split("-", 2)[2] for _, a in SIBLINGS])
def test_a_wheel_beside_a_trusted_late_wheel_is_a_question(
    trusted: str, attack: str, trusted_at: str | None
) -> None:
    served = [file(n, T0) for n in BASE] + [file(trusted, trusted_at), file(attack, NEXT_DAY)]
    signs = late_uploads(served, 14, only={attack})  # the review: only the new file is in question
    assert [s.blocking for s in signs] == [True], signs


def test_a_batch_of_new_files_for_a_new_interpreter_is_still_information() -> None:
    """The wrapt shape: ten cp311 wheels for ten platforms, all new, one day: information."""
    platforms = ["manylinux_2_17_x86_64", "musllinux_1_1_x86_64", "win_amd64", "macosx_10_9_universal2"]
    batch = [f"demo-1.0-cp311-cp311-{p}.whl" for p in platforms]
    served = [file(n, T0) for n in BASE] + [file(n, NEXT_DAY) for n in batch]
    [sign] = late_uploads(served, 14, only=set(batch))
    assert sign.blocking is False


@pytest.mark.parametrize(
    ("late", "earlier"),
    [
        ("cp311-cp311-linux_x86_64", "cp39-abi3-musllinux_1_1_x86_64"),  # pip on musl takes linux_*
        ("cp311-cp311-linux_x86_64", "cp311-cp311-manylinux_2_17_x86_64"),
        ("cp311-cp311-musllinux_1_2_x86_64", "cp311-cp311-linux_x86_64"),
        ("cp311-cp311-manylinux_2_28_x86_64", "cp311-cp311-linux_x86_64"),
    ],
)
def test_a_plain_linux_wheel_overlaps_with_glibc_and_musl(late: str, earlier: str) -> None:
    assert _uncovered(f"demo-1.0-{late}.whl", [f"demo-1.0-{earlier}.whl"]) is None


@pytest.mark.parametrize(
    ("platform", "arch"),
    [
        ("manylinux_2_17_x86_64", "x86_64"),
        ("win_amd64", "amd64"),
        ("macosx_11_0_arm64", "arm64"),
        ("musllinux_1_2_ppc64le", "ppc64le"),
        ("linux_armv7l", "armv7l"),
        ("win32", "win32"),
    ],
)
def test_architectures_are_read_whole(platform: str, arch: str) -> None:
    assert _platform(platform)[1] == arch  # `x86_64` was read as `64`


def test_a_trusted_files_new_algorithm_hash_is_never_information() -> None:
    name, version = NormalizedName("demo"), "1"
    wheel = "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    switched = Finding(
        kind=FindingKind.NEW_FILE,
        project=name,
        version=version,
        lockfile="poetry.lock",
        filename=wheel,
        hash="sha512:" + "a" * 128,
        trusted_hash="sha256:" + "b" * 64,
    )
    benign = Finding(
        kind=FindingKind.LATE_UPLOAD,
        project=name,
        version=version,
        lockfile="poetry.lock",
        filename=wheel,
        blocking=False,
    )
    decided = plan([switched, benign])
    assert [q.key for q in decided.questions] == [(name, version)] and not decided.first_use


def test_an_acknowledged_batch_of_late_files_does_not_cover_another_batch() -> None:
    from pinwarden.shared.acknowledge import acknowledge, covered

    def batch(*names: str) -> Finding:
        return Finding(
            kind=FindingKind.LATE_UPLOAD,
            project=NormalizedName("demo"),
            version="1",
            lockfile="requirements.txt",
            evidence={"index": "https://pypi.org/simple/", "files": [{"filename": n} for n in names]},
        )

    first = batch("demo-1.0-cp311-cp311-win_amd64.whl", "demo-1.0-cp311-cp311-win32.whl")
    known = acknowledge([first], first.key, by="t", at="2026-12-01T00:00:00Z", reason="known")
    assert known is not None and covered(first, [known])
    assert not covered(batch("demo-1.0-cp312-cp312-win_amd64.whl", "demo-1.0-cp312-cp312-win32.whl"), [known])
    assert not covered(batch("demo-1.0-cp311-cp311-win_amd64.whl", "demo-1.0-py3-none-any.whl"), [known])
