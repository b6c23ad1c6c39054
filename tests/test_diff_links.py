"""Issue 10: `pinwarden diff` and symlinks.

`diff REV` must read the ledger a checkout of REV reads (following the symlinks committed at REV,
never those of the work tree) and the ledger `check` reads now; a link chain that changed between
the two is a ledger move (exit 1), one that leaves the git work tree an error (exit 2). Each shape
below is built in a real git repository; the oracle for what `check` reads is `check` itself, run
in the work tree and in a checkout of REV.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from tests.test_cli import DEMO as LOCKED_DEMO
from tests.test_cli import OTHER as LOCKED_OTHER
from tests.test_cli import lock_text
from tests.test_diff import BASE, DEMO, edited
from tests.test_ledger import digest, release

from pinwarden.cli import main
from pinwarden.shared.errors import PinwardenError
from pinwarden.shared.ledger import Ledger, dumps, loads
from pinwarden.shared.ledger_diff import diff
from pinwarden.shared.model import TrustHow
from pinwarden.shared.trust import record

LEDGER = "pinwarden-ledger.toml"
STRONG = dumps(BASE)  # the trust reviewed at the base revision
WEAK = dumps(edited(files=(replace(DEMO.files[0], hashes=(digest("evil"),)), *DEMO.files[1:])))
GROWN = dumps(record(BASE, [release("fresh", "0.1")], how=TrustHow.FIRST_USE, at="2026-11-25T00:00:00Z"))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in {
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "GIT_CEILING_DIRECTORIES": str(tmp_path),
    }.items():
        monkeypatch.setenv(key, value)
    top = tmp_path / "repo"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    return top


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the work tree, holding what a link out of it could reach."""
    where = tmp_path / "outside"
    where.mkdir()
    (where / "l.toml").write_text(STRONG)
    return where


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def commit_all(top: Path, message: str) -> None:
    git(top, "add", "-A")
    git(top, "commit", "-qm", message, "--allow-empty")


def put(top: Path, relative: str, text: str) -> None:
    path = top / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    remove(path)
    path.write_text(text)


def link(top: Path, relative: str, target: str | Path) -> None:
    path = top / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    remove(path)
    path.symlink_to(target)


def remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def setting(top: Path, value: str, where: str = ".") -> None:
    put(top, f"{where}/pyproject.toml", f"[tool.pinwarden]\nledger = {json.dumps(value)}\n")


def run(cwd: Path, *argv: str) -> tuple[int, str, str]:
    """In `cwd` as a shell's `cd` leaves it: $PWD spells the way there, links included."""
    old, old_pwd = Path.cwd(), os.environ.get("PWD")
    os.chdir(cwd)
    os.environ["PWD"] = str(cwd)
    try:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), out, err)
    finally:
        os.chdir(old)
        if old_pwd is None:
            del os.environ["PWD"]
        else:
            os.environ["PWD"] = old_pwd
    return code, out.getvalue(), err.getvalue()


def check_reads(cwd: Path, top: Path, argv: tuple[str, ...]) -> tuple[str | None, str]:
    """The ledger `check` reads here (relative to the work tree) and its text; (None, "") when it
    finds none (no ledger yet, or a link to nothing)."""
    code, out, err = run(cwd, "check", "--format", "json", *argv)
    if code == 2:
        assert "no ledger yet" in err or "dangling link" in err, err
        return None, ""
    real = Path(json.loads(out)["ledger_location"]["file"])
    return real.relative_to(top).as_posix(), real.read_text()


# ---------------------------------------------------------------------------------------------
# the shapes: what the base revision holds, what the pull request makes of it, what diff must say

Build = Callable[[Path, Path], None]  # (work tree, the directory outside it)


@dataclass(frozen=True)
class Shape:
    name: str
    base: Build
    pr: Build
    moved: bool = False  # the link chain changed: LEDGER MOVED, exit 1
    error: str = ""  # words of the one-line error (exit 2)
    cwd: str = "."
    argv: tuple[str, ...] = ()


def nothing(top: Path, outside: Path) -> None:
    pass


def plain(top: Path, outside: Path) -> None:
    put(top, LEDGER, STRONG)


def in_sec(top: Path, outside: Path) -> None:
    setting(top, "sec/l.toml")
    put(top, "sec/l.toml", STRONG)


def sec_linked(top: Path, outside: Path) -> None:
    setting(top, "sec/l.toml")
    put(top, "real/l.toml", STRONG)
    link(top, "sec", "real")


def file_linked(top: Path, outside: Path) -> None:
    put(top, "shared/l.toml", STRONG)
    link(top, LEDGER, "shared/l.toml")


def chained(top: Path, outside: Path) -> None:
    put(top, "shared/l.toml", STRONG)
    link(top, LEDGER, "hop1.toml")
    link(top, "hop1.toml", top / "links" / "hop2.toml")
    link(top, "links/hop2.toml", "../shared/./l.toml")


def both(*steps: Build) -> Build:
    def build(top: Path, outside: Path) -> None:
        for step in steps:
            step(top, outside)

    return build


def put_(relative: str, text: str) -> Build:
    return lambda top, outside: put(top, relative, text)


def link_(relative: str, target: str) -> Build:
    """A link; `{top}` and `{outside}` in the target are the absolute directories."""
    return lambda top, outside: link(top, relative, target.format(top=top, outside=outside))


def remove_(relative: str) -> Build:
    return lambda top, outside: remove(top / relative)


def setting_(value: str, where: str = ".") -> Build:
    return lambda top, outside: setting(top, value, where)


LOCK = lock_text(LOCKED_DEMO, LOCKED_OTHER)


SHAPES = [
    # -- the chain changed: a ledger move, compared with the ledger REV's checkout read ----------
    Shape(
        "file-link-to-a-new-weak-file", plain, both(put_("w/l.toml", WEAK), link_(LEDGER, "w/l.toml")), True
    ),
    Shape(
        "file-link-to-a-weak-file-already-at-rev",
        both(plain, put_("fixtures/l.toml", WEAK)),
        link_(LEDGER, "fixtures/l.toml"),
        True,
    ),
    Shape(
        "directory-replaced-by-a-link-to-a-new-directory",
        in_sec,
        both(put_("evil/l.toml", WEAK), link_("sec", "evil")),
        True,
    ),
    Shape(
        "directory-replaced-by-a-link-to-a-weak-directory-at-rev",
        both(in_sec, put_("fixtures/l.toml", WEAK)),
        link_("sec", "fixtures"),
        True,
    ),
    Shape(
        "directory-renamed-and-linked-back-unchanged",
        in_sec,
        both(remove_("sec"), put_("sec2/l.toml", STRONG), link_("sec", "sec2")),
        True,
    ),
    Shape(
        "directory-link-retargeted-relative",
        sec_linked,
        both(put_("other/l.toml", WEAK), link_("sec", "other")),
        True,
    ),
    Shape(
        "directory-link-retargeted-absolute",
        sec_linked,
        both(put_("other/l.toml", WEAK), link_("sec", "{top}/other")),
        True,
    ),
    Shape(
        "directory-link-retargeted-with-dotdot",
        both(setting_("deep/sec/l.toml"), put_("real/l.toml", STRONG), link_("deep/sec", "../real")),
        both(put_("other/l.toml", WEAK), link_("deep/sec", "../other/")),
        True,
    ),
    Shape(
        "link-replaced-by-a-real-directory",
        sec_linked,
        both(remove_("sec"), put_("sec/l.toml", WEAK)),
        True,
    ),
    Shape(
        "grandparent-directory-link-retargeted",
        both(setting_("a/b/l.toml"), put_("x/b/l.toml", STRONG), link_("a", "x")),
        both(put_("y/b/l.toml", WEAK), link_("a", "y")),
        True,
    ),
    Shape(
        "file-link-retargeted",
        both(file_linked, put_("shared/w.toml", WEAK)),
        link_(LEDGER, "shared/w.toml"),
        True,
    ),
    Shape(
        "chain-hop-retargeted",
        chained,
        both(put_("shared/w.toml", WEAK), link_("links/hop2.toml", "../shared/w.toml")),
        True,
    ),
    Shape("chain-shortened", chained, link_(LEDGER, "shared/l.toml"), True),
    Shape("link-respelled-same-file", file_linked, link_(LEDGER, "./shared//l.toml"), True),
    Shape("link-made-absolute-same-file", file_linked, link_(LEDGER, "{top}/shared/l.toml"), True),
    Shape("link-replaced-by-a-weak-file", file_linked, put_(LEDGER, WEAK), True),
    Shape(
        "from-a-subdirectory-with-dotdot-setting",
        both(
            setting_("../trust/l.toml", "app"),
            put_("app/poetry.lock", LOCK),
            put_("real/l.toml", STRONG),
            link_("trust", "real"),
        ),
        both(put_("other/l.toml", WEAK), link_("trust", "other")),
        True,
        cwd="app",
    ),
    Shape(
        "project-directory-made-a-link-and-entered-through-it",
        put_(f"app/{LEDGER}", STRONG),
        both(
            remove_("app"), put_("app2/poetry.lock", LOCK), put_(f"app2/{LEDGER}", WEAK), link_("app", "app2")
        ),
        True,
        cwd="app",
    ),
    Shape(
        "explicit-ledger-option-through-a-directory-link",
        both(put_("sec/l.toml", STRONG)),
        both(put_("evil/l.toml", WEAK), link_("sec", "evil")),
        True,
        argv=("--ledger", "sec/l.toml"),
    ),
    Shape(
        "new-ledger-added-as-a-link",
        nothing,
        both(put_("shared/l.toml", STRONG), link_(LEDGER, "shared/l.toml")),
        True,
    ),
    # -- the chain as at REV: compared through it, as a checkout reads it ------------------------
    Shape("file-link-unchanged-trust-added", file_linked, put_("shared/l.toml", GROWN)),
    Shape("file-link-unchanged-trust-replaced", file_linked, put_("shared/l.toml", WEAK)),
    Shape("chain-unchanged-trust-replaced", chained, put_("shared/l.toml", WEAK)),
    Shape(
        "directory-link-unchanged-absolute",
        both(setting_("sec/l.toml"), put_("real/l.toml", STRONG), link_("sec", "{top}/real")),
        put_("real/l.toml", GROWN),
    ),
    Shape(
        "pyproject-a-committed-link",
        both(
            put_("config/pyproject.toml", '[tool.pinwarden]\nledger = "sec/l.toml"\n'),
            link_("pyproject.toml", "config/pyproject.toml"),
            put_("sec/l.toml", STRONG),
        ),
        put_("sec/l.toml", WEAK),
    ),
    Shape("dangling-at-rev-target-added-now", link_(LEDGER, "shared/l.toml"), put_("shared/l.toml", STRONG)),
    Shape(
        "lock-a-link-to-a-directory-with-its-own-ledger",
        both(plain, put_("vendor/poetry.lock", LOCK), put_("vendor/" + LEDGER, WEAK)),
        link_("poetry.lock", "vendor/poetry.lock"),
    ),
    # -- errors: nothing a review of this repository sees, or nothing a checkout could read ------
    Shape(
        "file-link-out-absolute",
        plain,
        link_(LEDGER, "{outside}/l.toml"),
        error="symlinks lead outside the git work tree",
    ),
    Shape(
        "file-link-out-relative",
        plain,
        link_(LEDGER, "../outside/l.toml"),
        error="symlinks lead outside the git work tree",
    ),
    Shape(
        "file-link-out-and-back-in",
        plain,
        both(put_("shared/l.toml", STRONG), link_(LEDGER, "../repo/shared/l.toml")),
        error="symlinks lead outside the git work tree",
    ),
    Shape(
        "directory-link-out",
        in_sec,
        link_("sec", "{outside}"),
        error="symlinks lead outside the git work tree",
    ),
    Shape(
        "chain-last-hop-out",
        chained,
        link_("links/hop2.toml", "../../outside/l.toml"),
        error="symlinks lead outside the git work tree",
    ),
    Shape(
        "link-out-at-rev",
        link_(LEDGER, "{outside}/l.toml"),
        put_(LEDGER, STRONG),
        error="symlinks lead outside the git work tree",
    ),
    Shape(
        "loop-now",
        plain,
        both(link_(LEDGER, "a.toml"), link_("a.toml", LEDGER)),
        error="too many levels of symlinks",
    ),
    Shape(
        "loop-at-rev",
        both(link_(LEDGER, "a.toml"), link_("a.toml", "./" + LEDGER)),
        put_(LEDGER, STRONG),
        error="too many levels of symlinks",
    ),
    Shape("dangling-now", file_linked, remove_("shared/l.toml"), error="dangling link"),
    Shape("dangling-now-trailing-slash", file_linked, link_(LEDGER, "shared/l.toml/"), error="dangling link"),
    Shape("directory-link-dangling-now", sec_linked, remove_("real"), error="dangling link"),
    Shape(
        "link-to-a-directory",
        plain,
        both(put_("shared/x.toml", WEAK), link_(LEDGER, "shared")),
        error="is a directory",
    ),
    Shape(
        "link-into-dot-git",
        plain,
        both(put_(".git/evil.toml", WEAK), link_(LEDGER, ".git/evil.toml")),
        error=".git",
    ),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.name)
def test_diff_reads_what_check_reads_at_the_revision_and_now(repo: Path, outside: Path, shape: Shape) -> None:
    cwd = repo / shape.cwd
    put(repo, f"{shape.cwd}/poetry.lock", LOCK)
    shape.base(repo, outside)
    commit_all(repo, "base")
    shape.pr(repo, outside)
    code, out, err = run(cwd, "diff", *shape.argv)
    json_code, json_out, _ = run(cwd, "diff", "--format", "json", *shape.argv)
    if shape.error:
        assert (code, out, json_code) == (2, "", 2), (out, err)
        assert err.startswith("pinwarden: error:") and err.count("\n") == 1 and shape.error in err, err
        return
    assert json_code == code, (out, err)
    data = json.loads(json_out)
    # The oracle: what `check` reads now, then in a checkout of the base revision.
    now_file, now_text = check_reads(cwd, repo, shape.argv)
    commit_all(repo, "the pull request")
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    rev_file, rev_text = check_reads(cwd, repo, shape.argv)
    expected = diff(loads(rev_text, "base") if rev_text else Ledger(), loads(now_text, "now"))
    assert data["changes"] == [c.as_json() for c in expected], out
    assert code == (1 if shape.moved or any(c.removes_trust for c in expected) else 0), out
    assert ("LEDGER MOVED" in out) == shape.moved == (data["ledger_links"] is not None), out
    if shape.moved:
        assert data["removes_trust"] is True and "symlinks now:" in out
        assert data["ledger_links"]["new_ledger"] == now_file
        assert rev_file is None or data["ledger_links"]["old_ledger"] == rev_file


def test_a_move_names_the_links_on_each_side(repo: Path, outside: Path) -> None:
    put(repo, "poetry.lock", LOCK)
    chained(repo, outside)
    commit_all(repo, "base")
    put(repo, "shared/w.toml", WEAK)
    link(repo, "links/hop2.toml", "../shared/w.toml")
    code, out, _ = run(repo, "diff")
    assert code == 1
    hop1 = f"hop1.toml -> {repo / 'links' / 'hop2.toml'}"
    assert "symlinks at HEAD (" in out
    assert f"{LEDGER} -> hop1.toml, then {hop1}, then links/hop2.toml -> ../shared/./l.toml" in out
    assert (
        f"symlinks now: {LEDGER} -> hop1.toml, then {hop1}, then links/hop2.toml -> ../shared/w.toml" in out
    )
    assert "compared: shared/l.toml at HEAD" in out and "with shared/w.toml now" in out
    assert f"HASH REPLACED  {DEMO.files[0].filename}" in out
    links = json.loads(run(repo, "diff", "--format", "json")[1])["ledger_links"]
    assert links["old_links"][-1] == {"link": "links/hop2.toml", "target": "../shared/./l.toml"}
    assert links["new_links"][-1] == {"link": "links/hop2.toml", "target": "../shared/w.toml"}
    assert (links["old_ledger"], links["new_ledger"]) == ("shared/l.toml", "shared/w.toml")


# ---------------------------------------------------------------------------------------------
# the rule itself, against the file system: generated trees of files, directories and links

NAMES = ("a", "b", "l.toml")


def _target(rng: random.Random, top: Path, outside: Path) -> str:
    parts = [rng.choice((*NAMES, *NAMES, "..", ".", "")) for _ in range(rng.randint(1, 3))]
    relative = "/".join(parts) + rng.choice(("", "", "/"))
    start = rng.choice(("", "", "", f"{top}/", f"{outside}/"))
    return (start + relative) or "."


def _populate(rng: random.Random, top: Path, outside: Path, directory: Path, depth: int) -> None:
    for name in NAMES:
        path = directory / name
        remove(path)
        kind = rng.choice(("file", "dir", "link", "link", "none") if depth < 2 else ("file", "link", "none"))
        if kind == "file":
            path.write_text(f"{path} {rng.random()}")
        elif kind == "dir":
            path.mkdir()
            _populate(rng, top, outside, path, depth + 1)
        elif kind == "link":
            path.symlink_to(_target(rng, top, outside))


def _queries() -> list[str]:
    one = list(NAMES)
    two = [f"{x}/{y}" for x in NAMES for y in NAMES]
    return [*one, *two, *(f"{p}/{z}" for p in two for z in NAMES), "a/../l.toml", "a/./b/../l.toml", "./b/"]


def _by_the_kernel(path: Path, top: Path) -> tuple[str, str | None, str | None]:
    """What opening the path gives: ("file", where relative to top or None when outside, text),
    or the error's kind."""
    import errno

    try:
        text = path.read_text()
    except IsADirectoryError:
        return "directory", None, None
    except (FileNotFoundError, NotADirectoryError):
        return "missing", None, None
    except OSError as exc:
        assert exc.errno == errno.ELOOP, exc
        return "loop", None, None
    real = Path(os.path.realpath(path))
    inside = real.relative_to(top).as_posix() if real.is_relative_to(top) else None
    return "file", inside, text


def _ours(
    read: Callable[[str], tuple[str, bool, str | None]], query: str
) -> tuple[str, str | None, str | None]:
    try:
        file, exists, text = read(query)
    except PinwardenError as exc:
        message = str(exc)
        for words, kind in (
            ("outside the git work tree", "outside"),
            ("too many levels of symlinks", "loop"),
            ("is a directory", "directory"),
            ("dangling link", "missing"),
        ):
            if words in message:
                return kind, None, None
        raise
    return ("file", file, text) if exists else ("missing", None, None)


@pytest.mark.parametrize("seed", range(24))
def test_the_revision_and_the_work_tree_resolve_as_the_kernel_does(
    repo: Path, outside: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Imported here: the shapes above also run against a pinwarden without these (the old code).
    from pinwarden.shared.git import revision, work_tree
    from pinwarden.shared.store import resolve_in_work_tree

    rng = random.Random(seed)
    _populate(rng, repo, outside, repo, 0)
    _populate(rng, outside, outside, outside, 1)  # what a walk out of the work tree may find
    commit_all(repo, "tree")
    monkeypatch.chdir(repo)
    top = work_tree(repo)
    at = revision(top, "HEAD")

    def rev(query: str) -> tuple[str, bool, str | None]:
        found, text = at.read(Path(query), top)
        return found.file, found.exists, text

    def now(query: str) -> tuple[str, bool, str | None]:
        found = resolve_in_work_tree(Path(query), top, top)
        return found.file, found.exists, (top / found.file).read_text() if found.exists else None

    for query in _queries():
        kernel = _by_the_kernel(repo / query, top)
        for side in (rev, now):
            ours = _ours(side, query)
            context = (seed, query, side.__name__, ours, kernel)
            if ours[0] == "outside":  # never followed: whatever the kernel found there is not ours
                assert kernel[0] != "file" or kernel[1] is None, context
            elif kernel[0] == "file" and kernel[1] is None:  # the kernel left the work tree
                raise AssertionError(f"followed out of the work tree: {context}")
            else:
                assert ours == kernel, context
