"""Issue 10: a compromised ledger in a pull request. Every edit that weakens trust fails `pinwarden diff`.

Someone who can edit the lock can edit the ledger (and pyproject.toml) in the same pull request; `check`
then passes, so `pinwarden diff REV` is what a reviewer and CI rely on. Each edit below is made to the
ledger's text (or to `[tool.pinwarden]`) as a person would make it, committed in a real git repository,
and judged by the real command: a ledger no reader may take is one error line (exit 2), anything that
weakens trust is called out (exit 1), what only adds trust passes (exit 0).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from itertools import permutations
from pathlib import Path

import pytest
from tests import test_diff
from tests.test_diff import git, run

from pinwarden.cli import main
from pinwarden.shared.errors import InputError
from pinwarden.shared.ledger import Ledger, dumps, loads, loads_full
from pinwarden.shared.ledger_diff import REMOVING, ChangeKind, diff
from pinwarden.shared.ledger_fast import fast_loads
from pinwarden.shared.model import FileHash, LockedFile, LockedRelease, NormalizedName, TrustHow
from pinwarden.shared.trust import record

repo = test_diff.repo  # the fixture: a git repository with a ledger committed

AT = "2026-11-25T00:00:00Z"
LEDGER = "pinwarden-ledger.toml"
WHEEL, SDIST = "demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"


def h(seed: int, algorithm: str = "sha256") -> FileHash:
    width = {"sha256": 64, "sha384": 96, "sha512": 128}[algorithm]
    return FileHash(algorithm, f"{seed:x}".rjust(width, "0"))


W256, W512, S256 = h(1), h(2, "sha512"), h(3)
EVIL, EVIL512, EVIL384 = h(0xE), h(0xE, "sha512"), h(0xE, "sha384")


def trusted_ledger() -> Ledger:
    """demo 1: its wheel trusted by sha256 and sha512, its sdist by sha256."""
    files = (LockedFile(WHEEL, W256), LockedFile(WHEEL, W512), LockedFile(SDIST, S256))
    demo = LockedRelease(
        name=NormalizedName("demo"),
        version="1.0",
        files=files,
        lockfile="poetry.lock",
        source_url="https://pypi.org/simple/",
    )
    return record(Ledger(), [demo], how=TrustHow.INIT, at=AT)


BASE_TEXT = dumps(trusted_ledger())
WHEEL_HASHES = f'hashes = ["{W256}", "{W512}"]'
SDIST_LINE = f'  {{ file = "{SDIST}", hashes = ["{S256}"] }},'
assert WHEEL_HASHES in BASE_TEXT and SDIST_LINE in BASE_TEXT


def listed(*digests: FileHash) -> str:
    return "[" + ", ".join(f'"{d}"' for d in digests) + "]"


def hashes(*digests: FileHash) -> str:
    return f"hashes = {listed(*digests)}"


def with_wheel(*digests: FileHash) -> str:
    return BASE_TEXT.replace(WHEEL_HASHES, hashes(*digests))


def commit(repo_path: Path, text: str, message: str = "pull request") -> None:
    (repo_path / LEDGER).write_text(text)
    git(repo_path, "commit", "--allow-empty", "-qam", message)


def base_repo(path: Path) -> None:
    """The fixture's repository, its ledger replaced by BASE_TEXT at the base commit."""
    commit(path, BASE_TEXT, "base ledger")


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


def one_error_line(code: int, out: str, err: str) -> None:
    assert code == 2, out + err
    assert err.startswith("pinwarden: error:") and err.count("\n") == 1 and "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# a: a file with two digests of one algorithm is refused by both readers (never one kept silently)


def _two_in_one_entry() -> list[tuple[str, str]]:
    """(id, ledger text): one entry holding two digests of one algorithm, in every order."""
    cases = []
    for second, algorithm in ((EVIL, "sha256"), (EVIL512, "sha512")):
        for order in permutations([W256, W512, second]):
            ids = "-".join(d.value[-1] + d.algorithm[-3:] for d in order)
            cases.append((f"{algorithm}-{ids}", with_wheel(*order)))
    cases.append(("same-digest-twice", with_wheel(W256, W256, W512)))
    for order in permutations([S256, EVIL]):
        cases.append((f"sdist-{order[0].value[-1]}", BASE_TEXT.replace(listed(S256), listed(*order))))
    cases.append(("unnamed", BASE_TEXT.replace(SDIST_LINE, SDIST_LINE + f"\n  {{ {hashes(h(7), h(8))} }},")))
    return cases


def _one_file_listed_twice() -> list[tuple[str, str]]:
    """(id, ledger text): the same filename in two entries, the second with other (or the same) bytes."""
    cases = []
    for digest, label in ((EVIL, "other-bytes"), (S256, "same-bytes")):
        extra = f'  {{ file = "{SDIST}", hashes = ["{digest}"] }},'
        cases.append((f"{label}-after", BASE_TEXT.replace(SDIST_LINE, SDIST_LINE + "\n" + extra)))
        cases.append((f"{label}-before", BASE_TEXT.replace(SDIST_LINE, extra + "\n" + SDIST_LINE)))
        vanished = extra.replace(" },", ", vanished = true },")
        cases.append((f"{label}-vanished", BASE_TEXT.replace(SDIST_LINE, SDIST_LINE + "\n" + vanished)))
    return cases


TWO_DIGESTS = _two_in_one_entry() + _one_file_listed_twice()


@pytest.mark.parametrize("text", [t for _, t in TWO_DIGESTS], ids=[i for i, _ in TWO_DIGESTS])
def test_both_readers_refuse_one_file_with_two_digests_of_one_algorithm(text: str) -> None:
    assert fast_loads(text) is None  # the fast reader defers...
    with pytest.raises(InputError) as raised:  # ...and the full reader refuses
        loads_full(text)
    assert "trust neither" in str(raised.value) or "listed twice" in str(raised.value)
    with pytest.raises(InputError):
        loads(text)


@pytest.mark.parametrize("text", [t for _, t in TWO_DIGESTS], ids=[i for i, _ in TWO_DIGESTS])
def test_diff_and_check_stop_on_such_a_ledger_with_one_error_line(
    repo: Path,
    text: str,
) -> None:
    base_repo(repo)
    (repo / "requirements.txt").write_text(f"demo==1.0 --hash={W256}\n")
    commit(repo, text)
    one_error_line(*run("HEAD~1"))
    one_error_line(*cli("check"))
    # The revision side too: a base that already held such an entry is no base to compare with.
    commit(repo, BASE_TEXT, "fixed")
    one_error_line(*run("HEAD~1"))


def test_a_canonical_ledger_with_several_algorithms_is_read_alike() -> None:
    assert fast_loads(BASE_TEXT) is not None
    assert loads_full(BASE_TEXT) == loads(BASE_TEXT) == trusted_ledger()


# ---------------------------------------------------------------------------------------------
# b, d: digest by digest; c: any change of a release's source


SOURCES = [None, "directory:vendor/demo", "directory:../demo", "git+https://g.example/demo.git@" + "a" * 40]


def _with_source(text: str, source: str | None) -> str:
    if source is None:
        return text
    index_line = 'index = "https://pypi.org/simple/"\n'
    return text.replace(index_line, index_line + f'source = "{source}"\n')


DIGEST_EDITS: list[tuple[str, str, ChangeKind]] = [
    # (id, the pull request's ledger text, the change diff must call out)
    ("sha256-replaced-sha512-stays", with_wheel(EVIL, W512), ChangeKind.REPLACED_HASH),
    ("sha512-replaced-sha256-stays", with_wheel(W256, EVIL512), ChangeKind.REPLACED_HASH),
    ("both-replaced", with_wheel(EVIL, EVIL512), ChangeKind.REPLACED_HASH),
    ("sha512-removed", with_wheel(W256), ChangeKind.REMOVED_HASH),
    ("sha256-removed", with_wheel(W512), ChangeKind.REMOVED_HASH),
    ("sha384-added", with_wheel(W256, EVIL384, W512), ChangeKind.ADDED_HASH),
    (
        "sha512-added-to-sdist",
        BASE_TEXT.replace(listed(S256), listed(S256, EVIL512)),
        ChangeKind.ADDED_HASH,
    ),
    ("sha256-swapped-in-sdist", BASE_TEXT.replace(listed(S256), listed(EVIL)), ChangeKind.REPLACED_HASH),
    ("sha512-swapped-for-sha256", BASE_TEXT.replace(listed(S256), listed(EVIL512)), ChangeKind.REMOVED_HASH),
]
DIGEST_EDITS += [
    (f"source-{old}-to-{new}", _with_source(BASE_TEXT, new), ChangeKind.SOURCE_REPLACED)
    for old, new in [(None, s) for s in SOURCES[1:]]
]


@pytest.mark.parametrize(
    ("text", "kind"), [(t, k) for _, t, k in DIGEST_EDITS], ids=[i for i, _, _ in DIGEST_EDITS]
)
def test_every_edit_that_weakens_trust_fails_diff(repo: Path, text: str, kind: ChangeKind) -> None:
    base_repo(repo)
    commit(repo, text)
    code, out, err = run("HEAD~1")
    assert code == 1, out + err
    assert "TRUST REMOVED OR REPLACED" in out
    data = json.loads(run("HEAD~1", "--format", "json")[1])
    assert data["removes_trust"] is True
    flagged = [c for c in data["changes"] if c["kind"] == kind.value]
    assert flagged and all(c["removes_trust"] for c in flagged)
    # Since the pull request itself nothing changed.
    assert run()[0] == 0


@pytest.mark.parametrize("old", SOURCES)
@pytest.mark.parametrize("new", SOURCES)
def test_any_change_of_source_is_source_replaced(repo: Path, old: str | None, new: str | None) -> None:
    commit(repo, _with_source(BASE_TEXT, old), "base")
    commit(repo, _with_source(BASE_TEXT, new))
    code, out, _ = run("HEAD~1")
    if old == new:
        assert code == 0 and "no trust changed" in out
        return
    assert code == 1 and "SOURCE REPLACED" in out
    (change,) = json.loads(run("HEAD~1", "--format", "json")[1])["changes"]
    assert (change["kind"], change["old"], change["new"]) == ("source-replaced", old, new)
    assert change["removes_trust"] is True


@pytest.mark.parametrize("order", list(permutations(["sha256", "sha384", "sha512"])))
def test_digest_by_digest_whatever_the_order(order: tuple[str, ...]) -> None:
    """One digest of a file replaced while the others stay is REPLACED_HASH, in every order and
    position; a digest of a new algorithm beside them is ADDED_HASH, which needs a reviewer too."""
    digests = {a: h(10 + i, a) for i, a in enumerate(order)}
    old = _one_file(*digests.values())
    for algorithm in order:
        swapped = [h(0xE, a) if a == algorithm else d for a, d in digests.items()]
        changes = diff(old, _one_file(*swapped))
        assert [(c.kind, c.old, c.new) for c in changes] == [
            (ChangeKind.REPLACED_HASH, str(digests[algorithm]), str(h(0xE, algorithm)))
        ]
        kept = [d for a, d in digests.items() if a != algorithm]
        assert [c.kind for c in diff(_one_file(*kept), old)] == [ChangeKind.ADDED_HASH]
        assert ChangeKind.ADDED_HASH in REMOVING


def _one_file(*digests: FileHash) -> Ledger:
    files = tuple(LockedFile(WHEEL, d) for d in digests)
    demo = LockedRelease(name=NormalizedName("demo"), version="1", files=files, lockfile="poetry.lock")
    return record(Ledger(), [demo], how=TrustHow.INIT, at=AT)


UNNAMED = h(0x55)
UNNAMED_LINE = f'  {{ hashes = ["{UNNAMED}"] }},'
WITH_UNNAMED = BASE_TEXT.replace(SDIST_LINE, SDIST_LINE + "\n" + UNNAMED_LINE)
BESIDE_UNNAMED: list[tuple[str, str, int, set[str]]] = [
    # (id, the pull request's ledger text, exit code, kinds of change)
    (
        "digest-added-to-the-entry",
        WITH_UNNAMED.replace(UNNAMED_LINE, f"  {{ {hashes(UNNAMED, EVIL512)} }},"),
        1,
        {"added-hash"},
    ),
    (
        "named-with-a-digest-beside",
        WITH_UNNAMED.replace(
            UNNAMED_LINE, f'  {{ file = "demo-1.0-py2-none-any.whl", {hashes(UNNAMED, EVIL512)} }},'
        ),
        1,
        {"added-hash"},
    ),
    (
        "named-alone",
        WITH_UNNAMED.replace(UNNAMED_LINE, f'  {{ file = "demo-1.0-py2-none-any.whl", {hashes(UNNAMED)} }},'),
        0,
        {"added-file"},
    ),
    (
        "another-entry",
        WITH_UNNAMED.replace(UNNAMED_LINE, UNNAMED_LINE + f"\n  {{ {hashes(EVIL512)} }},"),
        1,  # round 7: a digest without a filename for a trusted version may stand for a trusted file
        {"added-unnamed"},
    ),
    (
        "digest-swapped",
        WITH_UNNAMED.replace(UNNAMED_LINE, f"  {{ {hashes(EVIL)} }},"),
        1,
        {"removed-hash", "added-unnamed"},
    ),
]


@pytest.mark.parametrize(
    ("text", "code", "kinds"), [c[1:] for c in BESIDE_UNNAMED], ids=[c[0] for c in BESIDE_UNNAMED]
)
def test_a_requirements_hash_and_what_is_written_beside_it(
    repo: Path, text: str, code: int, kinds: set[str]
) -> None:
    """A hash learnt from a requirements file has no filename; a digest written into its entry (or
    into the named entry it moves to) claims the same bytes, which nobody verified."""
    commit(repo, WITH_UNNAMED, "base")
    commit(repo, text)
    assert run("HEAD~1")[0] == code
    data = json.loads(run("HEAD~1", "--format", "json")[1])
    assert {c["kind"] for c in data["changes"]} == kinds


def test_what_only_adds_trust_still_passes(repo: Path) -> None:
    base_repo(repo)
    more = BASE_TEXT + (
        '\n[projects.fresh."0.1"]\ntrusted = [\n  { how = "first-use", at = "2026-11-26T00:00:00Z" },\n]\n'
        f'files = [\n  {{ file = "fresh-0.1.tar.gz", hashes = ["{h(9)}"] }},\n]\n'
    )
    commit(repo, more)
    code, out, _ = run("HEAD~1")
    assert code == 0 and "fresh 0.1  new version" in out


# ---------------------------------------------------------------------------------------------
# e: the guard settings in pyproject.toml


def _pyproject(path: Path, table: str) -> None:
    text = '[project]\nname = "x"\n' + (f"\n[tool.pinwarden]\n{table}\n" if table else "")
    (path / "pyproject.toml").write_text(text)


SETTINGS: list[tuple[str, str, str, str]] = [
    # (setting, base table, pull request's table, the setting called out)
    ("first-use", 'first-use = "ask"', "", "first-use"),
    ("first-use", 'first-use = "ask"', 'first-use = "trust"', "first-use"),
    ("first-use", "", 'first-use = "ask"', "first-use"),  # tighter is shown too: cheap to confirm
    ("exclude", "", 'exclude = ["requirements.txt"]', "exclude"),
    ("exclude", 'exclude = ["docs/*.txt"]', 'exclude = ["docs/*.txt", "*requirements*.txt"]', "exclude"),
    ("exclude", 'exclude = ["docs/*.txt"]', "", "exclude"),
    ("late-upload-days", "", "late-upload-days = 36500", "late-upload-days"),
    ("late-upload-days", "late-upload-days = 3", "late-upload-days = 30", "late-upload-days"),
    ("sdist-installs", 'sdist-installs = "refuse"', "", "sdist-installs"),
    ("sdist-installs", 'sdist-installs = "refuse"', 'sdist-installs = "allow"', "sdist-installs"),
]


def _value(table: str, key: str) -> object:
    """The setting as pinwarden reads it (its default when the table leaves it out)."""
    from pinwarden.shared.config import parse_settings

    value = getattr(parse_settings(f"[tool.pinwarden]\n{table}\n"), key.replace("-", "_"))
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize(("setting", "old", "new", "named"), SETTINGS)
def test_a_changed_guard_setting_fails_diff(repo: Path, setting: str, old: str, new: str, named: str) -> None:
    _pyproject(repo, old)
    git(repo, "add", "pyproject.toml")
    git(repo, "commit", "-qm", "settings")
    _pyproject(repo, new)
    code, out, _ = run()
    assert code == 1, out
    assert "GUARD SETTINGS CHANGED" in out and f"  {named}: " in out
    assert f"  {named}: {json.dumps(_value(old, named))} at HEAD (" in out
    assert "no trust changed" in out  # the ledger itself is unchanged
    code, out, _ = run("--format", "json")
    data = json.loads(out)
    assert code == 1 and data["removes_trust"] is True
    assert [c["setting"] for c in data["settings_changed"]] == [named]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("", 'first-use = "trust"'),  # the default, written out
        ('exclude = ["a.txt", "b.txt"]', 'exclude = ["b.txt", "a.txt"]'),  # order means nothing
        ("late-upload-days = 14", ""),
        ('sdist-installs = "allow"\nfirst-use = "ask"', 'first-use = "ask"\nsdist-installs = "allow"'),
    ],
)
def test_a_setting_that_means_the_same_is_no_change(repo: Path, old: str, new: str) -> None:
    _pyproject(repo, old)
    git(repo, "add", "pyproject.toml")
    git(repo, "commit", "-qm", "settings")
    _pyproject(repo, new)
    code, out, _ = run()
    assert code == 0 and "GUARD SETTINGS" not in out
    assert json.loads(run("--format", "json")[1])["settings_changed"] == []


def test_several_settings_at_once_are_each_shown(repo: Path) -> None:
    _pyproject(repo, 'first-use = "ask"\nsdist-installs = "refuse"')
    git(repo, "add", "pyproject.toml")
    git(repo, "commit", "-qm", "settings")
    _pyproject(repo, 'exclude = ["requirements.txt"]')
    data = json.loads(run("--format", "json")[1])
    changed = {c["setting"]: (c["old"], c["new"]) for c in data["settings_changed"]}
    assert changed == {
        "exclude": ([], ["requirements.txt"]),
        "first-use": ("ask", "trust"),
        "sdist-installs": ("refuse", "allow"),
    }


# ---------------------------------------------------------------------------------------------
# the JSON report follows its schema


def _link_ledger(path: Path) -> None:
    """The ledger becomes a symlink to a copy elsewhere in the work tree: a changed link chain."""
    (path / "sec").mkdir()
    (path / "sec" / "l.toml").write_bytes((path / LEDGER).read_bytes())
    (path / LEDGER).unlink()
    (path / LEDGER).symlink_to(Path("sec") / "l.toml")


SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "diff.schema.json").read_text())
EDITS: dict[str, Callable[[Path], None]] = {
    "nothing": lambda path: None,
    "replaced": lambda path: (path / LEDGER).write_text(with_wheel(EVIL, W512)),
    "source": lambda path: (path / LEDGER).write_text(_with_source(BASE_TEXT, SOURCES[1])),
    "settings": lambda path: _pyproject(path, 'first-use = "trust"\nexclude = ["x.txt"]'),
    "moved": lambda path: _pyproject(path, 'ledger = "pinwarden-ledger.toml"'),
    "linked": _link_ledger,
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_diff_json_follows_the_schema(repo: Path, edit: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    base_repo(repo)
    EDITS[edit](repo)
    code, out, _ = run("--format", "json")
    report = json.loads(out)
    jsonschema.validate(report, SCHEMA)
    assert code == (1 if report["removes_trust"] else 0)
    assert {c.value for c in ChangeKind} == set(SCHEMA["$defs"]["change"]["properties"]["kind"]["enum"])


def test_the_installed_command_says_the_same(repo: Path) -> None:
    base_repo(repo)
    commit(repo, with_wheel(W256, EVIL512))
    done = subprocess.run(
        [sys.executable, "-m", "pinwarden", "diff", "HEAD~1"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1 and f"HASH REPLACED  {WHEEL}  {W512} -> {EVIL512}" in done.stdout


# -- round 7: a digest without a filename, added to a version already trusted -----------------------


def _release(*files: tuple[str | None, FileHash], version: str = "1") -> LockedRelease:
    locked = tuple(LockedFile(name, digest) for name, digest in files)
    return LockedRelease(
        name=NormalizedName("demo"), version=version, files=locked, lockfile="requirements.txt"
    )


def _trusted(*files: tuple[str | None, FileHash]) -> Ledger:
    return record(Ledger(), [_release(*files)], how=TrustHow.INIT, at=AT)


def _vanish_unnamed(ledger: Ledger) -> Ledger:
    release = ledger.get(NormalizedName("demo"), "1")
    assert release is not None
    files = tuple(replace(f, vanished=True) if f.filename is None else f for f in release.files)
    return ledger.with_releases([replace(release, files=files)])


BASES = {
    "named wheel": [(WHEEL, h(1))],
    "named wheel and sdist": [(WHEEL, h(1)), (SDIST, h(2))],
    "unnamed (from a requirements file)": [(None, h(1))],
    "named and unnamed": [(WHEEL, h(1)), (None, h(2))],
    "named by sha512": [(WHEEL, h(1, "sha512"))],
}


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha512"])
@pytest.mark.parametrize("vanish", [False, True], ids=["kept", "trusted-unnamed-vanished"])
@pytest.mark.parametrize("base", list(BASES))
def test_an_unnamed_digest_added_to_a_trusted_version_needs_a_reviewer(
    base: str, vanish: bool, algorithm: str
) -> None:
    """Round 7: `{ hashes = ["sha256:EVIL"] }` added beside a trusted wheel (a requirements file then
    pins EVIL next to the trusted digest) passed `diff` as an added file; pip installs EVIL."""
    old = _trusted(*BASES[base])
    new = record(old, [_release(*BASES[base], (None, h(0xE, algorithm)))], how=TrustHow.APPROVAL, at=AT)
    if vanish:
        new = _vanish_unnamed(new)
    changes = diff(old, new)
    kinds = {c.kind for c in changes}
    assert ChangeKind.ADDED_UNNAMED in kinds and ChangeKind.ADDED_UNNAMED in REMOVING, changes
    unnamed_trusted = any(name is None for name, _ in BASES[base])
    if vanish and unnamed_trusted:
        assert ChangeKind.VANISHED in kinds  # a trusted unnamed digest marked vanished is said


def test_a_new_version_pinned_by_digests_alone_is_still_an_addition() -> None:
    old = _trusted((WHEEL, h(1)))
    added = _release((None, h(3)), (None, h(4)), version="2")
    new = record(old, [added], how=TrustHow.FIRST_USE, at=AT)
    assert not {c.kind for c in diff(old, new)} & REMOVING


def test_the_round_7_pull_request_fails_diff(repo: Path) -> None:
    """As found: the PR adds `{ hashes = [EVIL] }` to a version trusted by a named wheel."""
    base = dumps(_trusted((WHEEL, h(1))))
    commit(repo, base, "base")
    line = f'  {{ file = "{WHEEL}", hashes = ["{h(1)}"] }},'
    assert line in base
    commit(repo, base.replace(line, line + f'\n  {{ hashes = ["{h(0xE)}"] }},'))
    code, out = run("HEAD~1")[:2]
    assert code == 1, out
    assert "UNNAMED HASH ADDED" in out


FOREIGN = [
    "demo-1.0-py3-none-any.whl.metadata",
    "demo-1.0.post0-py3-none-any.whl",
    "demo-1.0-py3-none-any.whl.bak",
    "demo-1.0-py3-none-any.WHL",
    "other-1.0-py3-none-any.whl",
    "demo-2.0.tar.gz",
    "demo_1.0.tar.gz",
]


@pytest.mark.parametrize("named", FOREIGN)
@pytest.mark.parametrize("base", ["named wheel", "unnamed (from a requirements file)"])
def test_a_digest_under_a_name_no_file_of_the_version_needs_a_reviewer(base: str, named: str) -> None:
    """Round 8: `{ file = "demo-1.0.post0-...whl", hashes = [EVIL] }` added to demo 1 (no approval
    records such a name); a requirements file pinning EVIL then installs it as demo 1's wheel."""
    old = _trusted(*BASES[base])
    new = record(old, [_release(*BASES[base], (named, h(0xE)))], how=TrustHow.APPROVAL, at=AT)
    changes = diff(old, new)
    assert [c.kind for c in changes if c.filename == named] == [ChangeKind.ADDED_FOREIGN], changes
    assert ChangeKind.ADDED_FOREIGN in REMOVING


@pytest.mark.parametrize(
    "named", ["demo-1.0-1-py3-none-any.whl", "demo-1.0.tar.gz", "Demo-1.0.0-py2-none-any.whl"]
)
def test_a_new_file_of_the_version_stays_an_addition_for_the_reviewer(named: str) -> None:
    old = _trusted((WHEEL, h(1)))
    new = record(old, [_release((WHEEL, h(1)), (named, h(0xE)))], how=TrustHow.APPROVAL, at=AT)
    assert [c.kind for c in diff(old, new) if c.filename == named] == [ChangeKind.ADDED_FILE]
