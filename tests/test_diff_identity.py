"""Issue 10: `pinwarden diff` sees files as installers do.

A file added to the ledger under another spelling of a trusted file (`Demo-1.0.0-py3-none-any.whl` for
`demo-1.0-py3-none-any.whl`, another archive of the sdist) is, to pip and Poetry, that trusted file. With
other bytes it replaces trusted content, so diff calls it REPLACED_HASH (exit 1), never an ordinary new
file; with the same bytes it is an addition. Judged by the real command in a real git repository, for
every pair of spellings in both orders, wherever the entry is written (the same version table, a table
under another spelling of the version, beside a vanished or a removed original).
"""

from __future__ import annotations

import json
from itertools import permutations
from pathlib import Path

import pytest
from tests import test_diff
from tests.test_diff import git, run

from pinwarden.shared.filenames import file_identity
from pinwarden.shared.ledger import Ledger, dumps
from pinwarden.shared.ledger_diff import ChangeKind, diff
from pinwarden.shared.model import (
    FileHash,
    NormalizedName,
    TrustedFile,
    TrustedRelease,
    TrustEvent,
    TrustHow,
)

repo = test_diff.repo  # the fixture: a git repository with a ledger committed

DEMO = NormalizedName("demo")
LEDGER = "pinwarden-ledger.toml"
OTHER_FILE = "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"

# Spellings of one distribution, as an installer reads them.
WHEELS = [
    "demo-1.0-py3-none-any.whl",
    "Demo-1.0.0-py3-none-any.whl",
    "DEMO-1-py3-none-any.whl",
    "demo-1.0.0.0-py3-none-any.whl",
    "demo-v1.0-py3-none-any.whl",
    "demo-01.0-py3-none-any.whl",
]
TAG_SETS = [
    "demo-1.0-py2.py3-none-any.whl",
    "demo-1.0-py3.py2-none-any.whl",
    "Demo-1.0.0-py3.py2-none-any.whl",
]
SDISTS = ["demo-1.0.tar.gz", "Demo-1.0.0.tar.gz", "demo-1.0.zip", "demo-v1.tar.gz", "DEMO-1.0.tar.bz2"]
PAIRS = [pair for family in (WHEELS, TAG_SETS, SDISTS) for pair in permutations(family, 2)]
# Other distributions of the version: new files, whatever their bytes.
NOT_THE_SAME = [
    ("demo-1.0-py3-none-any.whl", "demo-1.0-1-py3-none-any.whl"),  # a build tag: another wheel
    ("demo-1.0-py3-none-any.whl", "demo-1.0-py2-none-any.whl"),  # other tags
    ("demo-1.0-py2.py3-none-any.whl", "demo-1.0-py3-none-any.whl"),  # a subset of the tags
    ("demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl"),  # an sdist and a wheel
    ("demo-1.0.tar.gz", "demo_1.0.tar.gz"),  # pip reads no project from this name
]
AT = "2026-11-25T00:00:00Z"


def h(seed: int) -> FileHash:
    return FileHash("sha256", f"{seed:x}".rjust(64, "0"))


TRUSTED_BYTES, OTHER_BYTES = h(1), h(0xE)


def ledger(*files: TrustedFile, version: str = "1") -> Ledger:
    release = TrustedRelease(
        name=DEMO,
        version=version,
        files=tuple(sorted(files, key=TrustedFile.sort_key)),
        history=(TrustEvent(how=TrustHow.INIT, at=AT),),
        index="https://pypi.org/simple/",
    )
    return Ledger({release.key: release})


def entry(filename: str, digest: FileHash, *, vanished: bool = False) -> TrustedFile:
    return TrustedFile(filename=filename, hashes=(digest,), vanished=vanished)


def base(trusted: str, *, vanished: bool = False) -> Ledger:
    return ledger(entry(trusted, TRUSTED_BYTES, vanished=vanished), entry(OTHER_FILE, h(2)))


def commit(repo_path: Path, text: str, message: str) -> None:
    (repo_path / LEDGER).write_text(text)
    git(repo_path, "commit", "--allow-empty", "-qam", message)


def changes_since_base(
    repo_path: Path, base_text: str, pr_text: str
) -> tuple[int, str, list[dict[str, object]]]:
    commit(repo_path, base_text, "base")
    commit(repo_path, pr_text, "pull request")
    code, out, err = run("HEAD~1")
    assert code in (0, 1), err
    data = json.loads(run("HEAD~1", "--format", "json")[1])
    return code, out, data["changes"]


def test_the_pairs_are_one_file_to_installers() -> None:
    for trusted, added in PAIRS:
        assert file_identity(trusted, DEMO) == file_identity(added, DEMO), (trusted, added)
    for trusted, added in NOT_THE_SAME:
        assert file_identity(trusted, DEMO) != file_identity(added, DEMO), (trusted, added)


@pytest.mark.parametrize(("trusted", "added"), PAIRS)
def test_another_spelling_with_other_bytes_is_a_replaced_hash(repo: Path, trusted: str, added: str) -> None:
    old = base(trusted)
    new = ledger(*old.releases[(DEMO, "1")].files, entry(added, OTHER_BYTES))
    code, out, changes = changes_since_base(repo, dumps(old), dumps(new))
    assert code == 1, out
    assert "TRUST REMOVED OR REPLACED" in out and f"HASH REPLACED  {added}" in out
    (change,) = changes
    assert (change["kind"], change["filename"], change["old"], change["new"]) == (
        "replaced-hash",
        added,
        str(TRUSTED_BYTES),
        str(OTHER_BYTES),
    )
    assert change["removes_trust"] is True and trusted in str(change["detail"])


@pytest.mark.parametrize(("trusted", "added"), PAIRS)
def test_another_spelling_with_the_same_bytes_is_an_addition(repo: Path, trusted: str, added: str) -> None:
    old = base(trusted)
    new = ledger(*old.releases[(DEMO, "1")].files, entry(added, TRUSTED_BYTES))
    code, out, changes = changes_since_base(repo, dumps(old), dumps(new))
    assert code == 0, out
    assert [c["kind"] for c in changes] == ["added-file"]


@pytest.mark.parametrize(("trusted", "added"), PAIRS[:: max(1, len(PAIRS) // 12)])
@pytest.mark.parametrize("where", ["vanished-original", "original-removed", "another-version-table"])
def test_wherever_the_respelled_entry_is_written(repo: Path, trusted: str, added: str, where: str) -> None:
    old = base(trusted, vanished=where == "vanished-original")
    old_text = dumps(old)
    if where == "another-version-table":
        # An older ledger's spelling of the version: read merged with the trusted table.
        table = dumps(ledger(entry(added, OTHER_BYTES), version="1.0.0")).split("ledger-format = 1\n", 1)[1]
        pr_text = old_text + table.replace('[projects.demo."1"]', '[projects.demo."1.0.0"]')
    else:
        kept = [
            f for f in old.releases[(DEMO, "1")].files if where != "original-removed" or f.filename != trusted
        ]
        pr_text = dumps(ledger(*kept, entry(added, OTHER_BYTES)))
    code, out, changes = changes_since_base(repo, old_text, pr_text)
    assert code == 1, out
    kinds = {c["kind"] for c in changes}
    assert "replaced-hash" in kinds and "added-file" not in kinds
    assert (where == "original-removed") == ("removed-file" in kinds)


@pytest.mark.parametrize(("trusted", "added"), NOT_THE_SAME + [(b, a) for a, b in NOT_THE_SAME])
def test_another_distribution_is_a_new_file(repo: Path, trusted: str, added: str) -> None:
    old = base(trusted)
    new = ledger(*old.releases[(DEMO, "1")].files, entry(added, OTHER_BYTES))
    code, out, changes = changes_since_base(repo, dumps(old), dumps(new))
    from pinwarden.shared.filenames import not_of_release

    # A name that is no file of demo 1 (pip reads no project from it) needs a reviewer (round 8).
    foreign = not_of_release(added, DEMO, "1") is not None
    assert code == (1 if foreign else 0), out
    assert [(c["kind"], c["filename"]) for c in changes] == [
        ("added-foreign" if foreign else "added-file", added)
    ]


@pytest.mark.parametrize("order", list(permutations(range(3))))
def test_several_respelled_entries_in_any_order(order: tuple[int, ...]) -> None:
    """The pure diff, on entries written in every order: each respelled one with other bytes is
    replaced, each with the trusted bytes is added, and nothing depends on the order."""
    added = [
        entry("Demo-1.0.0-py3-none-any.whl", OTHER_BYTES),
        entry("DEMO-1-py3-none-any.whl", TRUSTED_BYTES),
        entry("demo-1.0.zip", h(0xF)),
    ]
    old = ledger(entry("demo-1.0-py3-none-any.whl", TRUSTED_BYTES), entry("demo-1.0.tar.gz", h(3)))
    new = ledger(*old.releases[(DEMO, "1")].files, *(added[i] for i in order))
    found = sorted((c.kind.value, c.filename) for c in diff(old, new))
    assert found == [
        ("added-file", "DEMO-1-py3-none-any.whl"),
        ("replaced-hash", "Demo-1.0.0-py3-none-any.whl"),
        ("replaced-hash", "demo-1.0.zip"),
    ]
    assert [c.kind for c in diff(old, new)][:2] == [ChangeKind.REPLACED_HASH] * 2  # called out first
