"""`pinwarden uv COMMAND ...`: uv, with uv.lock reviewed before it changes and before uv installs from it.

uv has no plugin system and always writes uv.lock at the workspace root, so:
- a command that may write a new lock (`lock`, and `sync`/`run`/`export`/`tree` when uv.lock is out
  of date or with --upgrade/--upgrade-package/--refresh; `add`/`remove` always) runs `uv lock` (for
  add/remove the user's own command with --no-sync) in a staging copy of the workspace root;
  the new uv.lock is reviewed there (review.py) and only an approved one is written into place,
  with the pyproject.toml files add/remove edited;
- the command then runs in place with `--locked`, so uv can neither write a lock pinwarden did not
  review nor install from one: a lock uv finds out of date makes it fail instead;
- with nothing new nothing is staged: uv.lock on disk is checked against the ledger (offline), then
  the command runs with `--locked`; only if uv then finds the lock out of date is it staged.
Any other uv command passes straight to uv. Exit codes: 0, 1 (refused, aborted), 2 (an error),
or uv's own when uv fails.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from ..shared.errors import PinwardenError
from .args import (
    GUARDED,
    LOCK_OPTIONS,
    PINWARDEN_HELP,
    SYNC_OPTIONS,
    UNGUARDED,
    UPGRADES,
    Invocation,
    UsageError,
    parse,
)
from .stage import (
    Place,
    file_bytes,
    find_uv,
    locate,
    outside,
    pyprojects,
    quiet,
    run,
    staged_path,
    staging,
    staging_env,
    workspace_root,
)

# typing's import is not on the way to uv's start (tomllib's imports bring it while uv answers).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from .review import Result, Reviewer

_PLACE_OPTIONS = frozenset({"--directory", "--project"})
_REFRESH = frozenset({"--refresh", "--refresh-package"})
RELOCK = -1  # _check_on_disk: uv.lock is to be locked again for review, not refused
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})


def main(argv: list[str], out: TextIO, err: TextIO) -> int:
    try:
        invocation = parse(argv)
    except UsageError as exc:
        raise PinwardenError(f"pinwarden uv: {exc}") from None
    uv = find_uv()
    if invocation.command == "pip compile":
        from .pip_compile import main as pip_compile

        return pip_compile(invocation, uv, out, err, shown(argv))
    if invocation.command == "version" and version_sets(invocation.uv_argv):
        raise PinwardenError(
            "pinwarden uv version: setting the version makes uv lock again and sync, past pinwarden's "
            "review; set it with --frozen (pyproject.toml only), then run: pinwarden uv lock"
        )
    if invocation.command not in GUARDED and not passes_through(invocation):
        raise PinwardenError(
            f"pinwarden uv: `uv {invocation.command}` is not one pinwarden knows to leave uv.lock and "
            "the environment alone (it may lock or sync past review); run it with uv alone if you must"
        )
    if invocation.command not in GUARDED or invocation.has("--help", "--dry-run", "--version"):
        code = run([uv, *invocation.uv_argv], cwd=Path.cwd())  # writes and installs nothing
        if invocation.command in GUARDED and invocation.has("--help"):
            out.write(PINWARDEN_HELP)
        return code
    refused = sorted({o.name for o in invocation.options if o.name in UNGUARDED})
    if refused:
        raise PinwardenError(
            f"pinwarden uv {invocation.command}: {refused[0]} installs or locks what uv.lock does not "
            "pin, which pinwarden cannot review; run it without pinwarden if you must"
        )
    if invocation.command == "run":
        _refuse_a_script(invocation)
    return Guard(invocation, uv, err, argv).run(sys.stdin)


def _refuse_a_script(inv: Invocation) -> None:
    """`uv run TARGET`: uv resolves and installs a script's own dependencies (PEP 723 inline
    metadata, or its `TARGET.lock`) outside uv.lock, so such a run is refused. uv's rules
    (crates/uv/src/commands/project/run.rs, ParsedRunCommand::from_args): `-` is a script read from
    stdin, an http(s) URL a remote script, a .py/.pyc/.pyw file (or any file with --gui-script, which
    is refused with --script) a script whose metadata uv reads; `python`, a module (-m), a directory
    and any other program run in the project's environment."""
    words = inv.rest[1:] if inv.rest[:1] == ("--",) else inv.rest
    if not words:
        return
    target = words[0]
    why = ""
    if target == "-":
        why = "reads a script from stdin, whose inline metadata (# /// script) uv resolves"
    elif target.split("/", 1)[0].lower() in ("http:", "https:"):
        why = "runs a remote script, whose inline metadata (# /// script) uv resolves"
    elif not inv.has("--module") and target.lower() != "python":
        path = _run_dir(inv) / target
        if path.suffix.lower() in (".py", ".pyc", ".pyw") and path.is_file():
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise PinwardenError(f"cannot read {target}: {exc.strerror or exc}") from None
            if b"# /// script" in data:
                why = "is a script with inline metadata (# /// script), whose dependencies uv resolves"
    if why:
        raise PinwardenError(
            f"pinwarden uv run: {target} {why} and installs outside uv.lock, which pinwarden cannot "
            "review; nothing was run (run it without pinwarden if you must)"
        )


def _run_dir(inv: Invocation) -> Path:
    """Where uv resolves the target: the working directory after --directory (or UV_WORKING_DIR)."""
    directory = inv.last("--directory") or os.environ.get("UV_WORKING_DIR") or None
    return Path.cwd() / directory if directory else Path.cwd()


# uv commands that neither lock nor sync the project (fail closed: one uv adds, like `check` and
# `audit`, which sync or resolve, is refused until it is known). `pip compile` is guarded apart.
_PASS_THROUGH = frozenset(
    {"", "auth", "init", "tool", "python", "venv", "build", "publish", "cache", "self", "help", "format"}
)
_PASS_THROUGH_PIP = frozenset({"", "install", "sync", "uninstall", "freeze", "list", "show", "tree", "check"})


def passes_through(invocation: Invocation) -> bool:
    command, _, sub = invocation.command.partition(" ")
    if command == "version":
        return True  # the forms that set one are refused above (version_sets)
    if command == "pip":
        return sub in _PASS_THROUGH_PIP
    if command == "workspace":  # `workspace metadata` resolves (and may lock); dir and list only read
        words = list(invocation.uv_argv)
        tail = [w for w in words[words.index("workspace") + 1 :] if not w.startswith("-")]
        return tail[:1] in (["dir"], ["list"])
    return command in _PASS_THROUGH


# `uv version` words that only read (or write nothing: --dry-run, or pyproject.toml only: --frozen).
_VERSION_READS = frozenset({"--short", "-q", "--quiet", "-v", "--verbose", "--no-progress"})
_VERSION_SAFE = frozenset({"--dry-run", "--frozen", "-h", "--help"})
_VERSION_VALUED = frozenset({"--output-format", "--package", "--color"})


def version_sets(uv_argv: Sequence[str]) -> bool:
    """Whether `uv version ...` would set a version, which relocks and syncs unreviewed. Fail
    closed: any word not known to only read counts as setting one (a VALUE, --bump, what uv adds)."""
    words = list(uv_argv)
    tail = words[words.index("version") + 1 :]
    if _env_flag("UV_FROZEN") or any(w in _VERSION_SAFE for w in tail):
        return False
    i = 0
    while i < len(tail):
        word = tail[i]
        if word in _VERSION_VALUED:
            i += 2
            continue
        if word.partition("=")[0] not in _VERSION_VALUED and word not in _VERSION_READS:
            return True
        i += 1
    return False


def shown(argv: Sequence[str]) -> str:
    """The command as the person typed it, to run again (a password in an index URL masked)."""
    from ..shared.model import masked_source

    return masked_source(shlex.join(["pinwarden", "uv", *argv]))


def uv_words(invocation: Invocation, *, options: Sequence[str] | None = None) -> list[str]:
    """uv's command line again, without pinwarden's options (global options after the command:
    uv takes them there too)."""
    words = invocation.command.split()
    words += invocation.words() if options is None else list(options)
    positionals = list(invocation.positionals)
    if any(p.startswith("-") for p in positionals):
        positionals.insert(0, "--")
    return [*words, *positionals, *invocation.rest]


def _warm_up() -> None:
    """While `uv workspace dir` answers: the imports of the check of uv.lock (no file is read
    before uv says which uv.lock is the one)."""
    from ..shared.locks import uv_lock  # noqa: F401
    from . import review  # noqa: F401


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


class Guard:
    def __init__(self, invocation: Invocation, uv: str, err: TextIO, argv: Sequence[str]) -> None:
        self.inv = invocation
        self.uv = uv
        self.err = err
        self.place: Place = locate(
            uv, invocation.last("--directory"), invocation.last("--project"), os.environ, _warm_up
        )
        if self.place.lock.is_symlink():
            # A link is where a pull request steers uv's writes (find 07): one rule, no link.
            raise PinwardenError(
                f"{self.place.lock} is a symbolic link: pinwarden guards a uv.lock that is a regular file"
            )
        self.argv = argv  # shown in messages: masked when the reviewer is made, not before uv starts
        self._reviewer: Reviewer | None = None

    @property
    def reviewer(self) -> Reviewer:
        """The project's settings and ledger, read when first needed: a staged run reads them while
        uv locks in the copy (nothing is written or installed before the review either way)."""
        if self._reviewer is None:
            from .review import Reviewer

            inv = self.inv
            self._reviewer = Reviewer(
                self.place.root,
                command=shown(self.argv),
                err=self.err,
                ledger=inv.ledger,
                no_interaction=inv.no_interaction,
            )
            if inv.ledger is None:  # a path on the command line is a person's; pyproject.toml's may be a PR's
                self._no_new_ledger_below_another()
        return self._reviewer

    def _no_cache_from_the_project(self) -> None:
        """uv believes its cache: a wheel unpacked there is installed without hashing it again, and
        cached index pages give the hashes it locks. A cache inside the project whose files git
        tracks (or with no git to tell) may be a pull request's, so nothing runs on it. The cache
        directory is uv's own answer, with the command's cache and config options."""
        from .stage import answer

        keep = {"--cache-dir", "--no-cache", "--config-file", "--no-config", "--directory", "--project"}
        code, out, err = answer([self.uv, *self.inv.words(keep=keep), "cache", "dir"], cwd=Path.cwd())
        if code != 0:
            raise PinwardenError(f"uv cannot say where its cache is: {err.strip().splitlines()[-1:]}")
        printed = out.strip()
        root = self.place.root.resolve()
        candidates = {(Path.cwd() / printed).resolve(), (root / printed).resolve()}
        inside = sorted(c for c in candidates if c == root or root in c.parents)
        if inside and _tracked_or_unknown(root, inside):
            raise PinwardenError(
                f"uv's cache ({printed}) is inside the project, where a pull request can put files uv "
                "installs unchecked: use a cache outside it (UV_CACHE_DIR, or no cache-dir setting)"
            )

    def _no_new_ledger_below_another(self) -> None:
        """A first guarded run trusts the lock on first use in a new ledger. Where a ledger of the
        default name lies beside uv.lock or above it, that is refused: a pull request that makes a
        member its own root (a pyproject.toml between them), or that points `[tool.pinwarden] ledger`
        elsewhere, would otherwise get its uv.lock trusted afresh."""
        from ..shared.store import LEDGER_FILENAME

        if self.reviewer.has_ledger():
            return
        root = self.place.root.resolve()
        for directory in (root, *root.parents):
            found = directory / LEDGER_FILENAME
            if found.is_file():
                raise PinwardenError(
                    f"no ledger at {self.reviewer.ledger_shown}, but {found} exists: name the ledger "
                    "to use (--pinwarden-ledger PATH, or [tool.pinwarden] ledger in pyproject.toml) "
                    "rather than start a new one on first use"
                )

    def say(self, text: str) -> None:
        self.err.write(text + "\n")

    def run(self, stdin: TextIO | None) -> int:
        inv = self.inv
        self._no_cache_from_the_project()
        frozen = inv.has("--frozen", "--check-exists") or _env_flag("UV_FROZEN")
        locked = inv.has("--locked", "--check") or _env_flag("UV_LOCKED")
        edits = inv.command in ("add", "remove")
        if edits and frozen:  # pyproject.toml only: no lock written, nothing installed
            return self._in_place(uv_words(inv))
        news = edits or inv.has(*UPGRADES, *_REFRESH)
        disk_trusted: bool | None = None  # the uv.lock on disk, if judged before uv runs
        if frozen or locked or not news:
            if self.place.lock.is_file():
                code = self._check_on_disk(stdin)
                if code == RELOCK:
                    self.say(
                        f"pinwarden: {self.reviewer.lock_shown} holds what the ledger does not trust: uv "
                        "locks again in a staging copy, reviewed before it is written (without that "
                        "uv.lock: uv resolves from the index)"
                    )
                    return self._locked_then_run(stdin, disk_trusted=False)
                if code or frozen or locked:
                    return code or self._in_place(uv_words(inv))
                # Every option pinwarden adds goes before the first positional (`uv run PROGRAM
                # ARGS`: after it, words are the program's).
                code = self._in_place(uv_words(inv, options=[*inv.words(), "--locked"]))
                # `uv lock --locked` fails only when the lock is out of date (or uv cannot tell):
                # then the staged run says which. Another command's failure may be its own.
                if code == 0 or (inv.command != "lock" and not self._stale()):
                    return code
                self.say(
                    f"pinwarden: {self.reviewer.lock_shown} is out of date: uv locks in a staging copy, "
                    "reviewed before it is written"
                )
                disk_trusted = True  # judged above: uv may keep it as uv's preference
            elif frozen or locked:
                return self._in_place(uv_words(inv))  # uv says there is no lock
        return self._locked_then_run(stdin, disk_trusted=disk_trusted)

    def _in_place(self, words: list[str]) -> int:
        return run([self.uv, *words], cwd=Path.cwd())

    def _check_on_disk(self, stdin: TextIO | None) -> int:
        from ..shared.store import read_text
        from .review import Result

        text = read_text(self.place.lock, "uv.lock")
        if not self.reviewer.has_ledger():  # the first guarded run: the lock as it is, on first use
            return self.reviewer.review(Result(text), stdin)
        if self.inv.command == "lock" and not self.inv.has(
            "--locked", "--check", "--frozen", "--check-exists"
        ):
            return RELOCK if self.reviewer.untrusted(text) else 0  # `lock` relocks for review
        return self.reviewer.check_installed_from(text)

    def _stale(self) -> bool:
        """Whether uv finds uv.lock out of date (asked only after the command failed)."""
        options = self.inv.words(keep=LOCK_OPTIONS | _PLACE_OPTIONS, drop=UPGRADES | _REFRESH)
        code, _ = quiet([self.uv, "lock", "--check", *options], cwd=Path.cwd())
        return code != 0

    def _locked_then_run(self, stdin: TextIO | None, *, disk_trusted: bool | None) -> int:
        result = self._stage(disk_trusted)
        if isinstance(result, int):
            return result
        code = self.reviewer.review(result, stdin)
        if code or self.inv.command == "lock":
            return code
        if self.inv.command in ("add", "remove"):
            if self.inv.has("--no-sync") or _env_flag("UV_NO_SYNC"):
                return 0
            options = self.inv.words(keep=SYNC_OPTIONS | _PLACE_OPTIONS, drop=UPGRADES)
            inexact = ["--inexact"] if self.inv.command == "add" else []
            return self._in_place(["sync", "--locked", *inexact, *options])
        return self._in_place(uv_words(self.inv, options=[*self.inv.words(drop=UPGRADES), "--locked"]))

    def _stage(self, disk_trusted: bool | None = None) -> Result | int:
        """uv's new lock (and edited pyproject.toml files), made in a staging copy; uv's exit code
        when uv fails there.

        uv keeps a uv.lock that still satisfies the project, entries and all: one the ledger does
        not fully trust (a hand-edited file, hash or version) is not in the copy when uv runs, so
        what the review trusts on first use is what uv resolved from the index, never a lock text
        someone wrote. `disk_trusted` is what the caller judged already (None: not judged; it is
        judged while uv runs, and only if untrusted does uv run again, in a fresh copy without it)."""
        place = self.place
        before: dict[Path, bytes | None] = {
            place.lock: place.lock.read_bytes() if place.lock.is_file() else None
        }
        edits = self.inv.command in ("add", "remove")
        originals = pyprojects(place.root) if edits else {}
        before.update({place.root / rel: data for rel, data in originals.items()})
        if disk_trusted is not None or before[place.lock] is None:
            keep = disk_trusted is not False
            return self._stage_once(before, originals, keep_lock=keep, judge=keep)
        result = self._stage_once(before, originals, keep_lock=True, judge=True)
        if isinstance(result, int) or not self.reviewer.disk_untrusted:
            return result
        self.say(
            f"pinwarden: {self.reviewer.lock_shown} holds what the ledger does not trust: uv locks again "
            "in a staging copy without it (uv resolves from the index)"
        )
        return self._stage_once(before, originals, keep_lock=False, judge=False)

    def _stage_once(
        self,
        before: dict[Path, bytes | None],
        originals: dict[Path, bytes],
        *,
        keep_lock: bool,
        judge: bool,
    ) -> Result | int:
        """One uv run in a fresh staging copy (without uv.lock unless `keep_lock`); `judge`: the
        uv.lock on disk is judged meanwhile (Reviewer.prepare)."""
        from .review import Result

        place = self.place
        edits = self.inv.command in ("add", "remove")
        with staging(place.root) as copy:
            if not keep_lock:
                (copy / "uv.lock").unlink(missing_ok=True)
            staged_project = staged_path(place.project, place, copy)
            env = staging_env(os.environ)
            # A copy beside the root can match a parent workspace's `members` glob (`packages/*`):
            # no name or place beside the root is safe from every glob, and `../` paths need it
            # there. So uv is asked first whether the copy is its own root.
            seen = workspace_root(self.uv, ["--project", str(staged_project)], cwd=copy, env=env)
            if seen.resolve() != copy.resolve():
                raise PinwardenError(
                    f"uv takes the staging copy of {place.root} into the workspace at {seen} (its members "
                    "glob matches the copy's name); nothing was run"
                )
            around = outside(copy, place.root)
            project = ["--project", str(staged_project)]
            if edits:
                options = self.inv.words(drop=_PLACE_OPTIONS | {"--no-sync", "--locked"})
                words = uv_words(self.inv, options=[*options, "--no-sync", *project])
            else:
                words = ["lock", *self.inv.words(keep=LOCK_OPTIONS), *project]
            cwd = staged_path(place.cwd, place, copy)
            try:
                current = before[place.lock]
                code = run(
                    [self.uv, *words],
                    cwd=cwd,
                    env=env,
                    staged=True,
                    meanwhile=(lambda: self.reviewer.prepare(current)) if judge else None,
                )
            finally:
                self._unchanged_around(around)
            if code != 0:
                self.say(f"pinwarden: uv failed (exit {code}); nothing was written")
                return code
            staged_lock = copy / "uv.lock"
            if not staged_lock.is_file():
                raise PinwardenError("uv wrote no uv.lock in the staging copy; nothing was written")
            text = staged_lock.read_bytes().decode("utf-8")
            changed = {
                place.root / rel: data.decode("utf-8")
                for rel, data in pyprojects(copy).items()
                if edits and originals.get(rel) != data
            }
        return Result(text, changed, before)

    def _unchanged_around(self, around: dict[Path, bytes | None]) -> None:
        """After the staged run: nothing uv could have written outside the copy changed, or that is
        an error (the copy joined another workspace meanwhile)."""
        from ..shared.store import atomic_write

        changed = [path for path, data in around.items() if file_bytes(path) != data]
        if not changed:
            return
        restored = []
        for path in changed:  # uv's own writes (it writes whole files): put back as they were
            data = around[path]
            if path.name == "uv.lock" and data is not None and not path.is_symlink():
                try:
                    atomic_write(path, data.decode("utf-8"))
                except (UnicodeDecodeError, OSError):
                    continue
                restored.append(path)
        state = "restored" if len(restored) == len(changed) else "review it before anything installs from it"
        raise PinwardenError(
            f"{changed[0]} changed while uv locked in the staging copy (uv took the copy into another "
            f"workspace); {state}; nothing else was written"
        )


def _tracked_or_unknown(root: Path, places: Sequence[Path]) -> bool:
    """Whether git tracks a file under any of `places` (True where git cannot tell: no repository)."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--", *map(str, places)],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return True
    return done.returncode != 0 or bool(done.stdout)
