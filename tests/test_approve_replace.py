"""An approval from an index records what was reviewed, never a swap as a side effect (issue 10, find 03).

The red team's shape: a refusal names a new wheel of a trusted version and prints its approve
command; by the time a person runs it, the index also serves a trusted file (the sdist) with other
bytes. The approval used to record whatever the index served, the swap included. Now:
- a trusted file served with other bytes, under any spelling of its name and whatever algorithm the
  ledger trusts it by, is refused unless `--replace` is given; nothing is written;
- the printed commands carry `--hash` digests, and a bound approval records only those files
  (every one of them still served, or nothing).
The class is tried over filename spellings, archive formats, trusted algorithms and listed hashes,
through `pinwarden approve --from-index`, the pure judge, and the commands the guards print.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.index import PackageIndex, build_sdist, build_wheel

from pinwarden.cli import main
from pinwarden.shared.approval import bindings, judge
from pinwarden.shared.ledger import Ledger
from pinwarden.shared.model import (
    FileHash,
    Finding,
    FindingKind,
    LockedFile,
    LockedRelease,
    TrustHow,
    normalize_name,
)
from pinwarden.shared.store import LedgerStore
from pinwarden.shared.trust import record

NAME = "pwdemo-alpha"
WHEEL = build_wheel(NAME, "1.0", marker="wheel")
SDIST = build_sdist(NAME, "1.0", marker="sdist")  # pwdemo_alpha-1.0.tar.gz
SWAPPED = build_sdist(NAME, "1.0", marker="swapped")[1]
NEW_WHEEL = build_wheel(NAME, "1.0", python_tag="cp311", abi="cp311", platform="manylinux_2_17_x86_64")

# Names an installer reads as the trusted sdist (project and version): the swap may come under any.
SDIST_SPELLINGS = [
    SDIST[0],
    "pwdemo-alpha-1.0.tar.gz",
    "PWDemo.Alpha-1.0.0.tar.gz",
    "pwdemo_alpha-1.zip",
    "Pwdemo_Alpha-01.0.zip",
]
# Names an installer reads as the trusted wheel (project, version, tags in any order).
WHEEL_SPELLINGS = [
    WHEEL[0],
    "Pwdemo_Alpha-1.0.0-py3-none-any.whl",
    "pwdemo_alpha-1-py3-none-any.whl",
]
ALGORITHMS = [("sha256",), ("sha512",), ("sha256", "sha512"), ("sha384",)]


def digest(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return tmp_path


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    index.add(NAME, "1.0", *WHEEL)
    index.add(NAME, "1.0", *SDIST)
    with index.serve():
        yield index


def approve(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["approve", *args], out, err)
    return code, out.getvalue(), err.getvalue()


def trust_by(ledger_path: Path, algorithms: tuple[str, ...]) -> None:
    """The ledger trusts alpha 1.0's wheel and sdist by these algorithms only."""
    files = tuple(
        LockedFile(name, FileHash.parse(digest(data, a))) for name, data in (WHEEL, SDIST) for a in algorithms
    )
    release = LockedRelease(name=normalize_name(NAME), version="1.0", files=files, lockfile="poetry.lock")
    LedgerStore(ledger_path).save(
        record(Ledger(), [release], how=TrustHow.APPROVAL, at="2026-01-01T00:00:00Z")
    )


def trusted_digests(ledger_path: Path) -> dict[str | None, set[str]]:
    trusted = LedgerStore(ledger_path).load().get(normalize_name(NAME), "1")
    assert trusted is not None
    return {f.filename: {str(h) for h in f.hashes} for f in trusted.files}


def swap_sdist(index: PackageIndex, spelling: str) -> None:
    index.remove(NAME, SDIST[0])
    index.add(NAME, "1.0", spelling, SWAPPED)


# -- through `pinwarden approve --from-index` ---------------------------------------------------------


@pytest.mark.parametrize("algorithms", ALGORITHMS, ids="+".join)
@pytest.mark.parametrize("spelling", SDIST_SPELLINGS)
@pytest.mark.parametrize("listed", ["sha256", "sha512", "md5"])
def test_a_swapped_trusted_file_is_refused_without_replace(
    index: PackageIndex, in_tmp: Path, algorithms: tuple[str, ...], spelling: str, listed: str
) -> None:
    ledger = in_tmp / "pinwarden-ledger.toml"
    trust_by(ledger, algorithms)
    index.hash_algorithm = listed  # what the page lists is a claim; the bytes are hashed anyway
    swap_sdist(index, spelling)
    index.add(NAME, "1.0", *NEW_WHEEL)
    before = ledger.read_bytes()
    code, out, err = approve(f"{NAME}==1.0", "--from-index", index.url)
    assert (code, err) == (1, "")
    assert f"{spelling} is trusted as " in out and "--replace" in out
    assert "nothing was recorded" in out
    assert ledger.read_bytes() == before


@pytest.mark.parametrize("algorithms", ALGORITHMS, ids="+".join)
@pytest.mark.parametrize("spelling", WHEEL_SPELLINGS)
def test_a_swapped_wheel_under_any_spelling_is_refused(
    index: PackageIndex, in_tmp: Path, algorithms: tuple[str, ...], spelling: str
) -> None:
    ledger = in_tmp / "pinwarden-ledger.toml"
    trust_by(ledger, algorithms)
    index.remove(NAME, WHEEL[0])
    index.add(NAME, "1.0", spelling, build_wheel(NAME, "1.0", marker="evil")[1])
    before = ledger.read_bytes()
    code, out, _ = approve(f"{NAME}==1.0", "--from-index", index.url)
    assert code == 1 and f"{spelling} is trusted as " in out
    assert ledger.read_bytes() == before


@pytest.mark.parametrize("algorithms", ALGORITHMS, ids="+".join)
def test_replace_records_the_swap(index: PackageIndex, in_tmp: Path, algorithms: tuple[str, ...]) -> None:
    ledger = in_tmp / "pinwarden-ledger.toml"
    trust_by(ledger, algorithms)
    swap_sdist(index, SDIST[0])
    code, out, _ = approve(f"{NAME}==1.0", "--from-index", index.url, "--replace", "--reason", "rebuilt")
    assert code == 0, out
    recorded = trusted_digests(ledger)[SDIST[0]]
    # Every algorithm the ledger held is replaced by the new bytes' digest: no stale one stays beside.
    assert {h.partition(":")[0] for h in recorded} >= set(algorithms)
    assert digest(SWAPPED) in recorded
    assert not any(digest(SDIST[1], a) in recorded for a in algorithms)


@pytest.mark.parametrize("algorithms", ALGORITHMS, ids="+".join)
def test_unchanged_files_pass_whatever_the_ledger_trusts_them_by(
    index: PackageIndex, in_tmp: Path, algorithms: tuple[str, ...]
) -> None:
    ledger = in_tmp / "pinwarden-ledger.toml"
    trust_by(ledger, algorithms)
    index.add(NAME, "1.0", *NEW_WHEEL)
    code, out, _ = approve(f"{NAME}==1.0", "--from-index", index.url)
    assert code == 0, out
    assert NEW_WHEEL[0] in trusted_digests(ledger)


@pytest.mark.parametrize("spelling", SDIST_SPELLINGS)
@pytest.mark.parametrize("form", ["sha256:{}", "sha256={}", "SHA256:{}"])
def test_a_bound_approval_records_only_the_reviewed_files(
    index: PackageIndex, in_tmp: Path, spelling: str, form: str
) -> None:
    """The printed command's `--hash` for the new wheel: the swapped sdist beside it stays out."""
    ledger = in_tmp / "pinwarden-ledger.toml"
    trust_by(ledger, ("sha256",))
    index.add(NAME, "1.0", *NEW_WHEEL)
    swap_sdist(index, spelling)
    bound = form.format(hashlib.sha256(NEW_WHEEL[1]).hexdigest())
    code, out, _ = approve(f"{NAME}==1.0", "--from-index", index.url, "--hash", bound)
    assert code == 0, out
    trusted = trusted_digests(ledger)
    assert trusted[NEW_WHEEL[0]] == {digest(NEW_WHEEL[1])}
    assert trusted[SDIST[0]] == {digest(SDIST[1])}  # still the reviewed bytes
    assert spelling == SDIST[0] or spelling not in trusted


def test_a_bound_digest_no_longer_served_records_nothing(index: PackageIndex, in_tmp: Path) -> None:
    ledger = in_tmp / "pinwarden-ledger.toml"
    trust_by(ledger, ("sha256",))
    index.add(NAME, "1.0", NEW_WHEEL[0], build_wheel(NAME, "1.0", marker="other-bytes")[1])
    before = ledger.read_bytes()
    code, out, _ = approve(f"{NAME}==1.0", "--from-index", index.url, "--hash", digest(NEW_WHEEL[1]))
    assert code == 1
    assert f"{digest(NEW_WHEEL[1])} was approved for review but is not served now" in out
    assert ledger.read_bytes() == before


def test_a_bound_changed_file_still_needs_replace(index: PackageIndex, in_tmp: Path) -> None:
    ledger = in_tmp / "pinwarden-ledger.toml"
    trust_by(ledger, ("sha256",))
    swap_sdist(index, SDIST[0])
    code, _, _ = approve(f"{NAME}==1.0", "--from-index", index.url, "--hash", digest(SWAPPED))
    assert code == 1
    code, _, _ = approve(
        f"{NAME}==1.0", "--from-index", index.url, "--hash", digest(SWAPPED), "--replace", "--reason", "x"
    )
    assert code == 0
    assert trusted_digests(ledger)[SDIST[0]] == {digest(SWAPPED)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([f"{NAME}==1.0", "--hash", "sha256:" + "0" * 64], "--hash and --replace go with --from-index"),
        ([f"{NAME}==1.0", "--replace"], "--hash and --replace go with --from-index"),
        ([f"{NAME}==1.0", "--from-index", "{url}", "--hash", "md5:" + "0" * 32], "does not identify bytes"),
        ([f"{NAME}==1.0", "--from-index", "{url}", "--hash", "sha256:abc"], "not a sha256 digest"),
        ([f"{NAME}==1.0", "--from-index", "{url}", "--hash", "nohash"], "algorithm:hex"),
    ],
)
def test_bad_bindings_are_one_error_line(
    index: PackageIndex, in_tmp: Path, args: list[str], message: str
) -> None:
    code, _, err = approve(*(a.format(url=index.url) for a in args))
    assert code == 2
    assert err.startswith("pinwarden: error: ") and err.count("\n") == 1 and message in err, err
    assert not (in_tmp / "pinwarden-ledger.toml").exists()


# -- the pure judge and the printed bindings ----------------------------------------------------------


def _release(*files: tuple[str, bytes], algorithms: tuple[str, ...] = ("sha256",)) -> LockedRelease:
    locked = tuple(LockedFile(n, FileHash.parse(digest(d, a))) for n, d in files for a in algorithms)
    return LockedRelease(name=normalize_name(NAME), version="1.0", files=locked, lockfile="index")


def _ledger(*files: tuple[str, bytes], algorithms: tuple[str, ...] = ("sha256",)) -> Ledger:
    return record(Ledger(), [_release(*files, algorithms=algorithms)], how=TrustHow.APPROVAL, at="t")


@pytest.mark.parametrize("spelling", SDIST_SPELLINGS + WHEEL_SPELLINGS)
@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_the_judge_finds_every_spelling_of_a_swap_in_any_order(spelling: str, order: str) -> None:
    ledger = _ledger(WHEEL, SDIST)
    # The swapped file under this spelling, a new wheel, and the other trusted file unchanged.
    served = [(spelling, b"other bytes"), NEW_WHEEL, SDIST if spelling.endswith(".whl") else WHEEL]
    judged = judge(ledger, [_release(*(served if order == "forward" else served[::-1]))], ())
    assert [s.filename for s in judged.swaps] == [spelling]
    assert judged.refusal(replace_allowed=True) == []
    assert len(judged.refusal(replace_allowed=False)) == 1


def test_the_judge_fails_closed_when_no_trusted_algorithm_was_computed() -> None:
    """A file trusted only by sha512, served and hashed by sha256 only: not shown to be the same bytes."""
    ledger = _ledger(SDIST, algorithms=("sha512",))
    judged = judge(ledger, [_release(SDIST)], ())
    assert [s.filename for s in judged.swaps] == [SDIST[0]]


def test_a_binding_that_leaves_a_version_empty_is_refused() -> None:
    judged = judge(Ledger(), [_release(WHEEL)], [FileHash.parse(digest(SDIST[1]))])
    assert judged.releases[0].files == ()
    assert any(
        "none of its files has a --hash given" in line for line in judged.refusal(replace_allowed=True)
    )


def _finding(kind: FindingKind, filename: str | None = None, hash: str | None = None) -> Finding:
    return Finding(
        kind=kind, project=normalize_name(NAME), version="1.0", lockfile="r.txt", filename=filename, hash=hash
    )


def test_printed_commands_bind_what_the_report_showed() -> None:
    new = _finding(FindingKind.NEW_FILE, NEW_WHEEL[0], digest(NEW_WHEEL[1]))
    changed = _finding(FindingKind.CHANGED_FILE, SDIST[0], digest(SWAPPED))
    missing = _finding(FindingKind.MISSING_FILE, WHEEL[0], digest(WHEEL[1]))
    key = (NAME, "1")
    assert bindings([new]) == {key: f"--hash {digest(NEW_WHEEL[1])}"}
    both = sorted([digest(NEW_WHEEL[1]), digest(SWAPPED)])
    assert bindings([changed, new]) == {key: f'--hash {both[0]} --hash {both[1]} --replace --reason "WHY"'}
    assert bindings([missing]) == {}  # nothing to bind: a missing file's digest is not served
    first_use = _finding(FindingKind.NEW_VERSION)
    pinned = _release(WHEEL, SDIST)
    expected = " ".join(f"--hash {d}" for d in sorted([digest(WHEEL[1]), digest(SDIST[1])]))
    assert bindings([first_use], [pinned]) == {key: expected}
    weak = _finding(FindingKind.WEAK_HASH, WHEEL[0], "md5:" + "0" * 32)
    assert bindings([weak]) == {}


@pytest.mark.parametrize("second", [SDIST[0], "pwdemo_alpha-1.0-py2.py3-none-any.whl", "pwdemo_alpha-1.zip"])
def test_a_bound_digest_served_under_two_names_records_nothing(
    index: PackageIndex, in_tmp: Path, second: str
) -> None:
    """Round 4 lead: `--hash D --replace` reviewed one changed file; the index also serves D under a
    second name (a trusted one, or new). Which file was reviewed cannot be told: nothing is recorded."""
    ledger = in_tmp / "pinwarden-ledger.toml"
    trust_by(ledger, ("sha256",))
    reviewed = build_wheel(NAME, "1.0", marker="rebuilt")[1]
    index.replace(NAME, WHEEL[0], reviewed)
    if second == SDIST[0]:
        index.replace(NAME, SDIST[0], reviewed)
    else:
        index.add(NAME, "1.0", second, reviewed)
    before = ledger.read_bytes()
    code, out, _ = approve(f"{NAME}==1.0", "--from-index", index.url, "--hash", digest(reviewed), "--replace")
    assert code == 1
    assert f"{digest(reviewed)} is served under several names" in out
    assert ledger.read_bytes() == before
