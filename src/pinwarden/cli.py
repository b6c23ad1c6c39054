"""`pinwarden` command line: thin glue over the core. main(argv) -> exit code.

Exit codes: 0 fine, 1 findings or refusal, 2 error (bad input, bad arguments, I/O).
Importing this module imports neither poetry nor pip; what only some commands need is imported
inside them, because `check` runs on every commit and its start-up time is most of its cost.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from . import __version__
from .shared.compare import compare
from .shared.errors import InputError, PinwardenError
from .shared.ledger import Ledger
from .shared.model import (
    FileHash,
    Finding,
    FindingKind,
    InvalidValue,
    LockedRelease,
    LockFile,
    TrustHow,
    normalize_name,
)
from .shared.store import (
    LEDGER_FILENAME,
    LedgerStore,
    ledger_notice,
    ledger_path,
    load_settings,
    outside_project,
    project_root,
    utc_now,
)

if TYPE_CHECKING:
    from .shared.auditing import Fetcher
    from .shared.config import Settings
    from .shared.git import Revision
    from .shared.ledger_diff import Change, LedgerMove, SettingChange
    from .shared.lockfacts import LockRules

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2, like every other error here."""

    def error(self, message: str) -> NoReturn:
        raise PinwardenError(f"{message} (see '{self.prog} --help')")


def _path(text: str) -> Path:
    """A path argument; a NUL cannot be in any file name, so it is a usage error, not a crash."""
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"{text!r}: not a file name (it holds a NUL character)")
    return Path(text)


def _digest(text: str) -> FileHash:
    from .shared.approval import bound_digest

    try:
        return bound_digest(text)
    except InvalidValue as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _moment(text: str) -> str:
    from .shared.adoption import parse_trusted_since

    try:
        return parse_trusted_since(text)
    except InvalidValue as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def fill_lines(text: str, width: int, indent: str = "") -> str:
    """Each line wrapped on its own, keeping its indent: paragraphs and the `exit codes:` table
    stay as written, however wide the terminal."""
    import textwrap

    lines = []
    for line in text.splitlines():
        lead = indent + line[: len(line) - len(line.lstrip())]
        hang = lead + ("   " if line[:1].isspace() else "")  # under the text after "0  "
        lines.append(textwrap.fill(line.strip(), width, initial_indent=lead, subsequent_indent=hang))
    return "\n".join(lines)


class _HelpFormatter(argparse.HelpFormatter):
    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return fill_lines(text, width, indent)


def exit_codes(ok: str, findings: str | None, errors: str = "") -> str:
    """The `exit codes:` epilog every subcommand's help ends with (0, 1 when it has one, 2);
    `errors`: what else than bad input or arguments is an error for this command."""
    error = f"an error (bad input or arguments{', ' + errors if errors else ''}): one line on stderr"
    rows = [f"  0  {ok}", *([f"  1  {findings}"] if findings else [])]
    return "exit codes:\n" + "\n".join([*rows, f"  2  {error} starting 'pinwarden: error:'"])


_LEDGER_HELP = (
    "the ledger file (default: [tool.pinwarden] ledger in pyproject.toml, else "
    "pinwarden-ledger.toml beside the lock)"
)
_LOCKS_HELP = (
    "poetry.lock, uv.lock, pylock.toml or hashed requirements files (default: poetry.lock, uv.lock, "
    "pylock.toml, pylock.*.toml, *requirements*.txt and *constraints*.txt here and *.txt under "
    "*requirements*/)"
)
_FORMAT_HELP = "output format (default: %(default)s)"


def build_parser(prog: str = "pinwarden") -> argparse.ArgumentParser:
    """Every subcommand's help says what it does (description), its defaults (in each option's
    help) and its exit codes (epilog): tests/test_help.py walks them all, new ones included."""
    common = _Parser(add_help=False)
    common.add_argument("--ledger", type=_path, metavar="PATH", help=_LEDGER_HELP)
    locks = _Parser(add_help=False)
    locks.add_argument("locks", nargs="*", type=_path, metavar="LOCK", help=_LOCKS_HELP)
    parser = _Parser(
        prog=prog,
        description="Trust on first use for dependency hashes: a ledger of every file hash you trusted.",
        epilog=f"Run '{prog} COMMAND --help' for what a command does, its defaults and exit codes.\n\n"
        + exit_codes("fine", "findings, or a refusal: nothing was written"),
        formatter_class=_HelpFormatter,
    )
    # `poetry pinwarden ...` runs these same commands: its reports name its own commands.
    parser.set_defaults(prog=prog)
    parser.add_argument("--version", action="version", version=f"pinwarden {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    init = sub.add_parser(
        "init",
        parents=[common, locks],
        formatter_class=_HelpFormatter,
        help="trust what the lock files hold now (adoption)",
        description="Adopt pinwarden: record every file hash the lock files hold now in the ledger "
        "(created if missing), as trusted by 'init', dated from the commit that first locked each "
        "version (git), else the lock's modification time, or --trusted-since: the first audit "
        "reports files uploaded after that. Trust already recorded is never overridden, "
        "and a version that may install in place of a trusted one (a local version such as "
        "1.0+x beside a trusted 1.0, a direct URL) is reported instead of adopted. Commit the "
        "ledger beside the lock.",
        epilog=exit_codes(
            "the ledger holds every locked version",
            "conflicts with trust already recorded (listed); nothing written",
        ),
    )
    init.add_argument(
        "--trusted-since",
        type=_moment,
        metavar="DATE",
        help="date the adopted trust from DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ) instead of the "
        "lock's git history (or, without git, its modification time): the first audit reports "
        "files uploaded after it",
    )
    sub.add_parser(
        "pip-compile",
        add_help=False,
        help="run pip-compile, refusing untrusted hashes (needs pinwarden[pip-tools]; its --help "
        "lists pip-compile's options and pinwarden's)",
        description="Run the real pip-compile with --generate-hashes on a private copy of the output "
        "file, and write the result only when every hash is trusted.",
        epilog=exit_codes(
            "written, or nothing to write",
            "refused, aborted, or findings; the output file is unchanged",
            "pip-compile failing for its own reasons",
        ),
    )
    sub.add_parser(
        "uv",
        add_help=False,
        help="run uv, reviewing every new uv.lock before it is written or installed from (lock, "
        "sync, run, export, tree, add, remove; uv pip compile)",
        description="Run uv; a command that may write uv.lock locks in a staging copy first, and the "
        "new lock is written only when every file is trusted; then the command runs with --locked.",
        epilog=exit_codes(
            "done, or nothing to write",
            "refused or aborted; uv.lock, the ledger and the environment are unchanged",
            "uv failing exits with uv's own code",
        ),
    )
    check = sub.add_parser(
        "check",
        parents=[common, locks],
        formatter_class=_HelpFormatter,
        help="compare lock files with the ledger, offline",
        description="Compare the lock files with the ledger, offline: every locked hash must be one "
        "the ledger trusts for that file, and every trusted file of a locked version must still be "
        "locked. Fast; for CI and pre-commit.",
        epilog=exit_codes(
            "every locked version trusted and complete",
            "findings, or a ledger outside the project without --allow-outside-ledger",
        ),
    )
    check.add_argument("--format", choices=("text", "json"), default="text", help=_FORMAT_HELP)
    check.add_argument(
        "--allow-outside-ledger",
        action="store_true",
        help="a ledger outside the project (its git work tree) is intended: not a finding",
    )
    approve = sub.add_parser(
        "approve",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="trust what the lock files now hold for NAME==VERSION",
        description="After reviewing what a finding reported, trust what the lock files now hold for "
        "each NAME==VERSION (by default: the locks, not the index), recorded in the ledger as an "
        "approval with --reason. With --from-index, trust the files the index serves now instead: "
        "each is downloaded and hashed, shown, then recorded.",
        epilog=exit_codes(
            "recorded, or already trusted",
            "refused, nothing written (a --hash no longer served, a trusted file served with "
            "other bytes without --replace)",
        ),
    )
    approve.add_argument(
        "items",
        nargs="*",
        metavar="NAME==VERSION|LOCK",
        help="versions to trust, then locks (default locks: as for check)",
    )
    approve.add_argument("--reason", help="why this change is expected (kept in the ledger)")
    approve.add_argument(
        "--hash",
        action="append",
        default=[],
        type=_digest,
        metavar="ALGORITHM:HEX",
        dest="hashes",
        help="with --from-index: record only the files with these digests (the reviewed ones); "
        "nothing when one is no longer served",
    )
    approve.add_argument(
        "--replace",
        action="store_true",
        help="with --from-index: a trusted file served with other bytes may replace the trusted ones",
    )
    approve.add_argument(
        "--from-index",
        nargs="?",
        const="",
        action="append",
        metavar="URL",
        help="trust the files the index serves now instead of reading locks (default URL: the "
        "index the lock names for the project, else the --index-url of the requirements files, "
        "else Poetry's sources, else pip's configuration, else PyPI); repeat for several indexes",
    )
    add_acknowledge_parser(sub, common, locks)
    audit = sub.add_parser(
        "audit",
        parents=[common, locks],
        formatter_class=_HelpFormatter,
        help="compare what the indexes serve now for every locked version with the ledger",
        description="Ask the indexes what they serve now for every locked version, and compare it "
        "with the ledger and with the audit baseline (pinwarden-baseline.toml beside the ledger, "
        "written on the first look), with warning signs (late uploads, build tags, a release "
        "shaped unlike the last trusted one, yanks). Also does everything check does. Needs the "
        "indexes: run it on a schedule.",
        epilog=exit_codes(
            "nothing changed",
            "findings",
            "an index that could not be audited; the rest of the report is still printed",
        ),
    )
    add_audit_options(audit)
    show = sub.add_parser(
        "show",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="list what the ledger trusts",
        description="List what the ledger trusts: each version, how and when it was trusted (init, "
        "first use, approval and its reason), and its files' hashes.",
        epilog=exit_codes("listed", None, "no ledger, NAME not in it"),
    )
    show.add_argument("name", nargs="?", help="only this project (default: every project)")
    show.add_argument("--format", choices=("text", "json"), default="text", help=_FORMAT_HELP)
    diff = sub.add_parser(
        "diff",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="what trust the ledger gained or lost since a git revision",
        description="What trust the ledger gained or lost since a git revision, and changes to "
        "[tool.pinwarden]. What needs a reviewer comes first: a hash removed, replaced or added "
        "beside a trusted one, a changed source, a moved ledger or changed symlinks on its path, "
        "a changed guard setting. For pull requests: diff origin/main.",
        epilog=exit_codes(
            "trust was only added",
            "something a reviewer must confirm",
            "not a git work tree, an unknown revision",
        ),
    )
    diff.add_argument("revision", nargs="?", default="HEAD", metavar="GIT-REV", help="default: HEAD")
    diff.add_argument("--format", choices=("text", "json"), default="text", help=_FORMAT_HELP)
    _add_accept_first_use(sub, common, locks)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands' parsers by name (for the Poetry plugin's help, and the help tests)."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: sub for action in actions for name, sub in action.choices.items()}


def command_help(name: str, prog: str = "pinwarden", width: int = 88) -> tuple[str, str]:
    """A subcommand's one-line summary and its help (what it does, then its exit codes), as
    `pinwarden NAME --help` says them: `poetry pinwarden NAME` shows the same."""
    parser = build_parser(prog)
    summaries = {
        choice.dest: choice.help or ""
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for choice in action._choices_actions
    }
    sub = subcommands(parser)[name]
    text = f"{sub.description or ''}\n\n{sub.epilog or ''}"
    return summaries.get(name, ""), fill_lines(text, width)


def _add_accept_first_use(sub: Any, common: argparse.ArgumentParser, locks: argparse.ArgumentParser) -> None:
    """The dependency-bot path (bot_command.py): its options and help live there."""
    from . import bot_command

    parser = sub.add_parser(
        "accept-first-use",
        parents=[common, locks],
        help="on a dependency bot's pull request: record first use of its new versions, verified",
        description=bot_command.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bot_command.add_arguments(parser)
    add_request_options(parser, jobs=8)


def add_request_options(parser: argparse.ArgumentParser, *, jobs: int) -> None:
    """`--timeout` and `--jobs`, for every command that asks indexes (audit, accept-first-use)."""
    parser.add_argument(
        "--timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="seconds per read of a request (default: %(default)s)",
    )
    parser.add_argument(
        "--jobs", type=int, default=jobs, metavar="N", help="requests at once (default: %(default)s)"
    )


def add_acknowledge_parser(sub: Any, common: argparse.ArgumentParser, locks: argparse.ArgumentParser) -> None:
    acknowledge = sub.add_parser(
        "acknowledge",
        parents=[common],
        help="record that what the audit reports about NAME==VERSION upstream is known",
        description="Ask the indexes about NAME==VERSION now, and record the findings that are facts "
        "of the index (yanked, version-gone, project-gone, missing-file, new-file and its signs, "
        "project-recreated) as acknowledged: who (git's user.name, else $USER), when and why, in the "
        "audit baseline beside the ledger. Later audits leave exactly those findings out; anything "
        "new about the version is reported. Nothing is trusted: check and installs never read it. "
        "A changed trusted file is never acknowledged (approve it with --reason, or not at all).",
        epilog="exit codes: 0 acknowledged, 1 nothing to acknowledge (what ends the other findings "
        "is printed), 2 error (bad arguments, an index that cannot be asked; nothing is written)",
    )
    acknowledge.add_argument(
        "items",
        nargs="+",
        metavar="NAME==VERSION|LOCK",
        help="versions to acknowledge, then locks (default locks: as for check)",
    )
    acknowledge.add_argument(
        "--reason", required=True, help="why the facts are accepted (required; recorded)"
    )
    acknowledge.add_argument(
        "--index-url", metavar="URL", help="ask this index instead of those the locks name (as audit)"
    )
    acknowledge.add_argument(
        "--extra-index-url", action="append", default=[], metavar="URL", help="ask this index too"
    )


def add_audit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help=_FORMAT_HELP)
    parser.add_argument(
        "--index-url",
        metavar="URL",
        help="ask this index instead of those the locks name, a mirror (default: the index each "
        "lock names, else pip's configuration, else PyPI)",
    )
    parser.add_argument(
        "--extra-index-url", action="append", default=[], metavar="URL", help="ask this index too"
    )
    parser.add_argument(
        "--update-baseline",
        action="store_true",
        help="record everything the indexes serve now as seen (never trusted): acknowledges new "
        "files the lock leaves out",
    )
    add_request_options(parser, jobs=16)
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="do not use the on-disk HTTP cache (default: use it, in ~/.cache/pinwarden/http or "
        "$PINWARDEN_CACHE_DIR)",
    )


@dataclass(frozen=True)
class _Context:
    """Where the locks and the ledger are, resolved once from the arguments and pyproject.toml."""

    locks: tuple[LockFile, ...]
    ledger: LedgerStore
    explicit_locks: bool

    @property
    def releases(self) -> list[LockedRelease]:
        return [r for lock in self.locks for r in lock.releases]

    def lock_args(self) -> str:
        return " ".join(lock.path for lock in self.locks) if self.explicit_locks else ""


# Where requirements locks live: beside pyproject.toml, or in a requirements directory. `.in` files
# are pip-compile's inputs, not locks.
_REQUIREMENTS_GLOBS = ("*requirements*.txt", "*constraints*.txt", "*requirements*/**/*.txt")


# The TOML locks uv and pip (PEP 751) read from the project directory.
_TOML_LOCK_NAMES = ("uv.lock",)
_PYLOCK_GLOB = "pylock.*"


def _toml_locks(cwd: Path) -> list[Path]:
    """uv.lock, pylock.toml and pylock.NAME.toml here, by the names their installers read."""
    from .shared.locks import is_pylock_name

    found = [Path(name) for name in _TOML_LOCK_NAMES if (cwd / name).is_file()]
    pylocks = (p for p in cwd.glob(_PYLOCK_GLOB) if is_pylock_name(p.name) and p.is_file())
    return found + sorted(Path(p.name) for p in pylocks)


def _discover(cwd: Path) -> list[Path]:
    """No lock named: poetry.lock, uv.lock, pylock.toml (and pylock.NAME.toml) and every
    requirements file here, save those the settings exclude. Each is read as a lock: one that pins
    without hashes is refused, never skipped quietly."""
    settings, base = load_settings(cwd)
    found = [Path("poetry.lock")] if (cwd / "poetry.lock").is_file() else []
    found += [p for p in _toml_locks(cwd) if not _excluded(cwd / p, base, settings.exclude)]
    candidates = {p for pattern in _REQUIREMENTS_GLOBS for p in cwd.glob(pattern) if p.is_file()}
    for candidate in sorted(candidates, key=lambda p: (len(p.parts), p)):  # this directory first
        relative = candidate.relative_to(cwd)
        if not _excluded(cwd / relative, base, settings.exclude):
            found.append(relative)
    if not found:
        raise PinwardenError(
            f"no poetry.lock, uv.lock, pylock.toml or requirements file in {cwd}: name the lock files"
        )
    return found


def _excluded(path: Path, base: Path, patterns: Sequence[str]) -> bool:
    from fnmatch import fnmatchcase

    try:
        relative = path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return False
    return any(fnmatchcase(relative, pattern) for pattern in patterns)


def _read_lock(path: Path, cwd: Path) -> LockFile:
    """Read once, from the bytes, by the reader of the tool that installs from the file: Poetry for
    `poetry.lock`, pip for any name pip might install from (`locks.lock_format`). The name is the
    one given, not a symlink's target's: it is the name the installer is given too."""
    from .shared.locks import parse_lock_bytes
    from .shared.locks.local_files import refuse_renamed_files

    lock = parse_lock_bytes(_read_bytes(path), _label(path, cwd), name=path.name)
    refuse_renamed_files(lock, path.parent)
    return lock


def _read_found_lock(path: Path, cwd: Path) -> LockFile:
    """A discovered file that is no valid lock stops the command, with the way out for a file that
    is not meant as one."""
    try:
        return _read_lock(path, cwd)
    except InputError as exc:
        raise PinwardenError(
            f"{exc}; if {path.as_posix()} is not a lock, list it in [tool.pinwarden] exclude "
            "in pyproject.toml"
        ) from None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PinwardenError(f"{path}: no such lock file") from None
    except IsADirectoryError:
        raise PinwardenError(f"{path}: is a directory, not a lock file") from None
    except OSError as exc:
        raise PinwardenError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError:  # a NUL in the path: no file can have that name
        raise PinwardenError(f"{str(path)!r}: not a file name (it holds a NUL character)") from None


def _context(args: argparse.Namespace, lock_paths: Sequence[Path]) -> _Context:
    cwd = Path.cwd()
    paths = list(lock_paths) or _discover(cwd)
    locks = tuple(_read_lock(p, cwd) if lock_paths else _read_found_lock(p, cwd) for p in paths)
    settings, base = load_settings(cwd)
    # Discovered locks, wherever below this directory, share this directory's ledger.
    anchors = list(lock_paths) or [Path(LEDGER_FILENAME)]
    store = LedgerStore(ledger_path(args.ledger, settings, base, anchors))
    return _Context(locks=locks, ledger=store, explicit_locks=bool(lock_paths))


def _label(path: Path, cwd: Path) -> str:
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """Exit 1 for findings, and for a ledger outside the project unless --allow-outside-ledger."""
    from .shared.render import findings_json, findings_text

    ctx = _context(args, args.locks)
    if not ctx.ledger.exists():
        raise PinwardenError(
            f"{ctx.ledger.path}: no ledger yet; run 'pinwarden init' to trust the current locks"
        )
    findings = compare(ctx.ledger.load(), ctx.releases, _lock_rules())
    where = _location(args, ctx)
    refused = where.outside is not None and not args.allow_outside_ledger
    if args.format == "json":
        from .shared.auditing import finding_resolutions

        resolve = finding_resolutions(findings, args.prog, ctx.lock_args())
        out.write(
            findings_json(findings, resolve, ledger=str(ctx.ledger.path), ledger_location=where.as_json())
            + "\n"
        )
        return EXIT_FINDINGS if findings or refused else EXIT_OK
    out.writelines(f"{line}\n" for line in where.lines(args.allow_outside_ledger))
    if findings:
        # Imported only to explain findings: the audit's modules (index client, warning signs) cost
        # a clean check, the common case in CI and pre-commit, half as much again as its lock.
        from .shared.auditing import audit_advice

        out.write(
            findings_text(
                findings,
                ledger_path=str(ctx.ledger.path),
                approve_prefix=f"{args.prog} approve",
                lock_args=ctx.lock_args(),
                advice=audit_advice(findings, args.prog, ctx.lock_args()),
            )
        )
    else:
        out.write(
            f"pinwarden: {len(ctx.releases)} locked versions, all trusted and complete ({ctx.ledger.path})\n"
        )
    return EXIT_FINDINGS if findings or refused else EXIT_OK


@dataclass(frozen=True)
class _Location:
    """Where the ledger `check` used is, and who chose it: a setting that moves it is worth a look."""

    path: Path
    source: str  # "--ledger", "[tool.pinwarden] ledger" or "default"
    setting: str | None
    default: Path
    outside: Path | None  # the file it really is, when that lies outside the project
    project: Path

    @property
    def away_from_default(self) -> bool:
        return os.path.realpath(self.path) != os.path.realpath(self.default)

    def lines(self, allowed: bool) -> list[str]:
        found: list[str] = []
        if self.away_from_default:
            chosen = f"[tool.pinwarden] ledger = {self.setting!r}" if self.setting else self.source
            found.append(
                f"pinwarden: ledger {self.path} (chosen by {chosen}; the default is {self.default}); "
                "'pinwarden diff' shows whether a change moved it"
            )
        if self.outside is not None:
            if allowed:
                found.append(f"pinwarden: note: the ledger {self.outside} is outside {self.project}")
            else:
                found.append(
                    f"pinwarden: LEDGER OUTSIDE THE PROJECT: {self.outside} is not in {self.project}, so "
                    "no review of this project sees its changes (--allow-outside-ledger if intended)"
                )
        return found

    def as_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "file": str(Path(os.path.realpath(self.path))),
            "source": self.source,
            "setting": self.setting,
            "default": str(self.default),
            "away_from_default": self.away_from_default,
            "outside_project": self.outside is not None,
            "project": str(self.project),
        }


def _location(args: argparse.Namespace, ctx: _Context) -> _Location:
    from .shared.config import Settings

    settings, base = load_settings(Path.cwd())
    source = "--ledger" if args.ledger is not None else "default"
    if args.ledger is None and settings.ledger:
        source = "[tool.pinwarden] ledger"
    project = project_root(Path.cwd())
    return _Location(
        path=ctx.ledger.path,
        source=source,
        setting=settings.ledger,
        default=ledger_path(None, Settings(), base, [Path(lock.path) for lock in ctx.locks]),
        outside=outside_project(ctx.ledger.path, project),
        project=project,
    )


def _say_notice(out: TextIO, path: Path) -> None:
    """Every message that writes the ledger names it when it lies outside the project."""
    notice = ledger_notice(path, project_root(Path.cwd()))
    if notice:
        out.write(notice + "\n")


def cmd_init(args: argparse.Namespace, out: TextIO) -> int:
    from .shared.adoption import date_adoption
    from .shared.auditing import audit_advice
    from .shared.render import findings_text
    from .shared.trust import adopt_new

    ctx = _context(args, args.locks)
    now = utc_now()
    if args.trusted_since is not None and args.trusted_since > now:
        raise PinwardenError(f"--trusted-since {args.trusted_since}: a time in the future (now is {now})")
    with ctx.ledger.locked():
        ledger = ctx.ledger.load()
        findings = compare(ledger, ctx.releases, _lock_rules())
        held = {f.key for f in findings if not _is_first_use(f, ledger)}
        conflicts = [f for f in findings if f.key in held]
        if conflicts:
            out.write(_init_refusal(conflicts))
            out.write(
                findings_text(
                    conflicts,
                    ledger_path=str(ctx.ledger.path),
                    approve_prefix=f"{args.prog} approve",
                    lock_args=ctx.lock_args(),
                    advice=audit_advice(conflicts, args.prog, ctx.lock_args()),
                )
            )
            return EXIT_FINDINGS
        # The first audit reports files uploaded after each version entered the lock.
        dating = date_adoption(ctx.locks, trusted_since=args.trusted_since, now=now)
        dating = replace(dating, since={k: v for k, v in dating.since.items() if ledger.get(*k) is None})
        updated = adopt_new(ledger, ctx.releases, how=TrustHow.INIT, at=now, since=dating.since)
        ctx.ledger.save(updated)
    added = len(updated) - len(ledger)
    files = sum(len(r.files) for r in ctx.releases)
    names = ", ".join(lock.path for lock in ctx.locks)
    out.write(f"pinwarden: trusted {added} new versions ({files} locked files) from {names}\n")
    out.write(f"pinwarden: ledger written to {ctx.ledger.path}; commit it beside the lock\n")
    summary = dating.summary()
    if summary:
        out.write(f"pinwarden: {summary}; the first audit reports files uploaded after that\n")
    _say_notice(out, ctx.ledger.path)
    return EXIT_OK


def _init_refusal(conflicts: Sequence[Finding]) -> str:
    if any(f.kind is FindingKind.FOREIGN_HOST for f in conflicts):
        return (
            "pinwarden: init adopts no file on a host its index does not use, and never overrides "
            "trust already recorded; these need a review:\n\n"
        )
    return "pinwarden: init never overrides trust already recorded; these need a review:\n\n"


def _is_first_use(finding: Finding, ledger: Ledger) -> bool:
    """About a version never trusted, and no sign that it may install in place of a trusted one
    (adopting it would be a silent first use of new bytes for a trusted version)."""
    if finding.kind in (FindingKind.LOCAL_VERSION, FindingKind.DIRECT_URL, FindingKind.FOREIGN_HOST):
        return False  # a file from a host its index does not use is never adopted silently
    return ledger.get(finding.project, finding.version) is None


def _lock_rules() -> LockRules:
    """`[tool.pinwarden]` settings for what uv.lock and pylock.toml show offline (lockfacts.py)."""
    settings, _ = load_settings(Path.cwd())
    return settings.lock_rules()


def _split_approve_items(items: Sequence[str]) -> tuple[list[tuple[str, str]], list[Path]]:
    specs: list[tuple[str, str]] = []
    locks: list[Path] = []
    for item in items:
        if "==" not in item:
            locks.append(Path(item))
            continue
        raw_name, _, version = item.partition("==")
        try:
            name = normalize_name(raw_name.strip())
        except InvalidValue as exc:
            raise PinwardenError(f"{item!r}: {exc}") from None
        if not version.strip() or "=" in version:
            raise PinwardenError(f"{item!r}: expected NAME==VERSION")
        specs.append((name, version.strip()))
    if not specs:
        raise PinwardenError("approve needs at least one NAME==VERSION")
    return specs, locks


def cmd_approve(args: argparse.Namespace, out: TextIO) -> int:
    from .shared.filenames import same_version
    from .shared.trust import record

    if args.from_index is not None:
        return cmd_approve_from_index(args, out)
    if args.hashes or args.replace:
        raise PinwardenError("--hash and --replace go with --from-index (a lock's hashes are what it holds)")
    specs, lock_paths = _split_approve_items(args.items)
    ctx = _context(args, lock_paths)
    chosen: list[LockedRelease] = []
    for name, version in specs:
        matches = [r for r in ctx.releases if r.name == name and same_version(r.version, version)]
        if not matches:
            where = ", ".join(lock.path for lock in ctx.locks)
            raise PinwardenError(
                f"{name}=={version} is not pinned in {where}; to trust what the index serves now "
                f"instead, add --from-index"
            )
        chosen.extend(matches)
    earlier = ctx.ledger.load()  # a malformed ledger stops here, before anything is printed
    # Shown before anything is recorded: what is about to be trusted, and where it came from.
    for release in chosen:
        out.write(f"pinwarden: {release.name}=={release.version} from {release.lockfile} (the lock):\n")
        out.writelines(f"  {f.filename or '(no filename)'}  {f.hash}\n" for f in release.files)
        if release.source_identity:
            out.write(f"  {release.source_identity}\n")
    changed = _changes(compare(earlier, chosen))
    reason = args.reason or (_confirm_change(args, changed, out) if changed else None)
    if changed and not reason:
        return EXIT_FINDINGS
    with ctx.ledger.locked():
        ledger = ctx.ledger.load()
        before = compare(ledger, chosen)
        if not args.reason and not _changes(before) <= changed:
            out.write(
                "pinwarden: the ledger changed meanwhile; nothing was recorded, run the command again\n"
            )
            return EXIT_FINDINGS
        ctx.ledger.save(record(ledger, chosen, how=TrustHow.APPROVAL, at=utc_now(), reason=reason))
    _report_approval(out, specs, before, ctx.ledger.path)
    return EXIT_OK


def cmd_approve_from_index(args: argparse.Namespace, out: TextIO) -> int:
    """`approve NAME==VERSION --from-index [URL]`: show what the index serves now, then trust it."""
    from .shared.approval import bound_changes, judge, ledger_algorithms, served_now
    from .shared.auditing import approval_indexes, poetry_source_credentials
    from .shared.index.client import ClientSettings, HttpClient, usable_cache_dir
    from .shared.index.fetch import SimpleIndex, redact_url
    from .shared.index.release import release_from_indexes
    from .shared.trust import record

    urls, items = _split_from_index(args.from_index, args.items)
    specs, lock_paths = _split_approve_items(items)
    locks = _approval_locks(lock_paths)
    settings, base = load_settings(Path.cwd())
    store = LedgerStore(ledger_path(args.ledger, settings, base, lock_paths))
    chosen: list[LockedRelease] = []
    client_settings = ClientSettings(
        cache_dir=usable_cache_dir(), credentials=poetry_source_credentials(locks)
    )
    earlier = store.load()  # which algorithms to hash in; judged again under the lock below
    with HttpClient(client_settings) as client:
        for name, version in specs:
            where = tuple(urls) or approval_indexes(name, locks, Path.cwd())
            also = ledger_algorithms(earlier, normalize_name(name), version)
            indexes = [SimpleIndex(url, client=client) for url in where]
            release = release_from_indexes(indexes, name, version, also=also)
            # Shown before anything is recorded: what is about to be trusted, and where it came from.
            out.write(
                f"pinwarden: {release.name}=={release.version} on {', '.join(map(redact_url, where))}:\n"
            )
            out.writelines(f"  {f.filename}  {f.hash}\n" for f in release.files)
            out.flush()
            chosen.append(release)
    pre = judge(store.load(), chosen, args.hashes)
    swaps = {(s.filename, str(s.served)) for s in pre.swaps}
    reason = args.reason
    if swaps and not pre.refusal(replace_allowed=args.replace) and not reason:
        reason = _confirm_change(args, frozenset(swaps), out)
        if not reason:
            return EXIT_FINDINGS
    with store.locked():
        ledger = store.load()
        judged = judge(ledger, chosen, args.hashes)
        refusal = judged.refusal(replace_allowed=args.replace)
        if refusal:
            out.writelines(line + "\n" for line in refusal)
            return EXIT_FINDINGS
        if not args.reason and not {(s.filename, str(s.served)) for s in judged.swaps} <= swaps:
            out.write(
                "pinwarden: the ledger changed meanwhile; nothing was recorded, run the command again\n"
            )
            return EXIT_FINDINGS
        before = bound_changes(compare(ledger, judged.releases), served_now(chosen, bound=bool(args.hashes)))
        recorded = record(
            ledger,
            judged.releases,
            how=TrustHow.APPROVAL,
            at=utc_now(),
            reason=reason,
            served=served_now(chosen, bound=bool(args.hashes)),
        )
        store.save(recorded)
    _report_approval(out, specs, before, store.path)
    return EXIT_OK


def _changes(findings: Iterable[Finding]) -> frozenset[tuple[str | None, str | None]]:
    """Trusted files whose bytes an approval would replace (the gravest finding). A requirements
    file names no file: a hash it adds while a trusted hash of the same version goes may be one file
    with other bytes, and is taken for one."""
    found = list(findings)
    changed = {(f.filename, f.hash) for f in found if f.kind is FindingKind.CHANGED_FILE}
    dropped = {f.key for f in found if f.kind is FindingKind.MISSING_FILE and f.filename is None}
    changed |= {
        (None, f.hash)
        for f in found
        if f.kind is FindingKind.NEW_FILE and f.filename is None and f.key in dropped
    }
    return frozenset(changed)


def _confirm_change(
    args: argparse.Namespace, changed: frozenset[tuple[str | None, str | None]], out: TextIO
) -> str | None:
    """New bytes under a trusted name need a reason: asked at a terminal, else the approval is
    refused with the command to run (exit 1). Returns the reason, None when refused."""
    import shlex

    out.write(
        "pinwarden: this approval REPLACES the trusted bytes of "
        + ", ".join(sorted(name or f"{digest} (no filename)" for name, digest in changed))
        + " (the content of a trusted file changed)\n"
    )
    command = f'{args.prog} {shlex.join(args.argv)} --reason "WHY"'
    if not (sys.stdin.isatty() and _isatty(out)):
        out.write(f"pinwarden: nothing was recorded; say why the new bytes are expected:\n  {command}\n")
        return None
    out.write("pinwarden: why are the new bytes expected? (recorded; empty refuses): ")
    out.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        answer = ""
    reason = answer.strip()
    if not reason or not reason.isprintable():
        out.write("\npinwarden: no reason given; nothing was recorded\n")
        return None
    return reason


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _approval_locks(lock_paths: Sequence[Path]) -> list[LockFile]:
    """The named (else discovered) locks: they say which index each project comes from."""
    cwd = Path.cwd()
    try:
        paths = list(lock_paths) or _discover(cwd)
    except PinwardenError:  # nothing to discover: Poetry's sources, pip's configuration, PyPI
        return []
    return [_read_lock(path, cwd) if lock_paths else _read_found_lock(path, cwd) for path in paths]


def _split_from_index(values: list[str], items: list[str]) -> tuple[list[str], list[str]]:
    """`--from-index` takes an optional URL, so argparse may hand it the next NAME==VERSION or LOCK."""
    urls = [v for v in values if "://" in v]
    return urls, [*items, *(v for v in values if v and "://" not in v)]


def _report_approval(
    out: TextIO, specs: list[tuple[str, str]], before: Sequence[Finding], path: Path
) -> None:
    for name, version in specs:
        changes = [f for f in before if f.project == name and f.kind is not FindingKind.NEW_VERSION]
        first = any(f.project == name and f.kind is FindingKind.NEW_VERSION for f in before)
        state = (
            "first trusted" if first else ("approved " + _count(changes) if changes else "already trusted")
        )
        out.write(f"pinwarden: {name}=={version}: {state}; ledger {path}\n")
        for f in changes:
            out.write(
                f"  {f.kind.value:<13} {f.filename or '(no filename)'}  {f.hash or f.trusted_hash or ''}\n"
            )
    _say_notice(out, path)


def _count(changes: Sequence[Finding]) -> str:
    return f"{len(changes)} change(s)"


def cmd_audit(args: argparse.Namespace, out: TextIO, err: TextIO, fetcher: Fetcher | None = None) -> int:
    """Heavy imports (requests, cachecontrol) happen inside: `check` never pays for them.
    `fetcher`: how pages are asked for (the Poetry plugin passes Poetry's authenticator)."""
    from .shared.auditing import AuditCommand, audit_command
    from .shared.store import load_settings

    ctx = _context(args, args.locks)
    settings, _ = load_settings(Path.cwd())
    command = AuditCommand(
        format=args.format,
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_url),
        update_baseline=args.update_baseline,
        timeout=args.timeout,
        jobs=args.jobs,
        cache=not args.no_cache,
        prog=args.prog,
        lock_args=ctx.lock_args(),
        file_hosts=settings.file_hosts,
    )
    return audit_command(
        ctx.locks, ctx.ledger, command, out, err, fetcher=fetcher, late_upload_days=settings.late_upload_days
    )


def cmd_acknowledge(
    args: argparse.Namespace, out: TextIO, err: TextIO, fetcher: Fetcher | None = None
) -> int:
    from .shared.auditing import AuditCommand, acknowledge_command

    specs, lock_paths = _split_approve_items(args.items)
    ctx = _context(args, lock_paths)
    settings, _ = load_settings(Path.cwd())
    command = AuditCommand(
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_url),
        prog=args.prog,
        lock_args=ctx.lock_args(),
    )
    return acknowledge_command(
        ctx.locks,
        ctx.ledger,
        command,
        out,
        err,
        specs=[(normalize_name(n), v) for n, v in specs],
        reason=args.reason,
        fetcher=fetcher,
        late_upload_days=settings.late_upload_days,
    )


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    from .shared.render import ledger_json, ledger_text, select

    settings, base = load_settings(Path.cwd())
    store = LedgerStore(ledger_path(args.ledger, settings, base, []))
    if not store.exists():
        raise PinwardenError(f"{store.path}: no ledger yet; run 'pinwarden init'")
    name = normalize_name(args.name) if args.name else None
    releases = select(store.load(), name)
    if name is not None and not releases:
        raise PinwardenError(f"{args.name}: not in the ledger {store.path}")
    out.write(ledger_json(releases) + "\n" if args.format == "json" else ledger_text(releases))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    """Exit 0 when trust was only added, 1 when any was removed or replaced, or when a
    `[tool.pinwarden]` setting (the ledger's place, or how it guards) or the symlinks on the
    ledger's path changed: a reviewer must look.

    The old ledger is read as a checkout of the revision would read it (its settings, its
    symlinks); the new one as `check` reads it. Both stay inside the git work tree."""
    from .shared.git import revision, work_tree
    from .shared.ledger import loads
    from .shared.ledger_diff import diff, ledger_move, settings_changes
    from .shared.store import resolve_in_work_tree

    top = work_tree(Path.cwd())
    cwd = _spelled_cwd(top)
    settings, base = load_settings(cwd)
    store = LedgerStore(ledger_path(args.ledger, settings, base, []))
    rev = revision(top, args.revision)
    old_setting = _setting_at(rev, base / "pyproject.toml", cwd)
    # Compared with the ledger the old setting named: a moved ledger is judged against the
    # trust that was reviewed, not against whatever the new place holds.
    old_path = store.path if args.ledger is not None else ledger_path(None, old_setting, base, [])
    old_found, old_text = rev.read(old_path, cwd)
    now = resolve_in_work_tree(store.path, top, cwd)
    move = ledger_move(
        old_setting.ledger,
        settings.ledger,
        old_ledger=old_found.file,
        new_ledger=now.file,
        old_links=old_found.links,
        new_links=now.links,
    )
    if old_text is None and not now.exists:
        raise PinwardenError(f"{store.path}: no ledger now nor at {args.revision}")
    old = loads(old_text, f"{args.revision}:{old_found.file}") if old_text is not None else Ledger()
    changes = diff(old, store.load())
    guards = settings_changes(old_setting, settings)
    out.write(_diff_report(args.format, changes, move, guards, ledger=str(store.path), base=rev.short()))
    return EXIT_FINDINGS if move or guards or any(c.removes_trust for c in changes) else EXIT_OK


def _spelled_cwd(top: Path) -> Path:
    """The current directory as the shell spelled it ($PWD), when that is this directory and lies
    in the work tree: a project directory that a pull request turned into a symlink is then walked
    through that link on both sides. Otherwise the directory as the file system has it."""
    physical = Path.cwd()
    spelled = Path(os.environ.get("PWD", ""))
    try:
        usable = spelled.is_absolute() and spelled.is_relative_to(top) and spelled.samefile(physical)
    except (OSError, ValueError):
        usable = False
    return spelled if usable else physical


def _diff_report(
    output_format: str,
    changes: Sequence[Change],
    move: LedgerMove | None,
    guards: Sequence[SettingChange],
    *,
    ledger: str,
    base: str,
) -> str:
    from .shared.ledger_diff import (
        diff_json,
        diff_text,
        move_text,
        settings_text,
        with_move_json,
        with_settings_json,
    )

    if output_format == "json":
        report = with_move_json(diff_json(changes, ledger=ledger, base=base), move)
        return with_settings_json(report, guards) + "\n"
    return (
        (move_text(move, base=base) if move else "")
        + settings_text(guards, base=base)
        + diff_text(changes, ledger=ledger, base=base)
    )


def _setting_at(rev: Revision, pyproject: Path, cwd: Path) -> Settings:
    """`[tool.pinwarden]` at the revision (defaults when pyproject.toml did not exist there)."""
    from .shared.config import Settings, parse_settings

    _, text = rev.read(pyproject, cwd)
    return Settings() if text is None else parse_settings(text, f"{rev.name}:pyproject.toml")


COMMANDS = {"check": cmd_check, "init": cmd_init, "approve": cmd_approve, "show": cmd_show, "diff": cmd_diff}


def cmd_accept_first_use(args: argparse.Namespace, out: TextIO) -> int:
    from .bot_command import run as accept_first_use

    return accept_first_use(args, out, _context)


COMMANDS["accept-first-use"] = cmd_accept_first_use


def run(
    argv: list[str], out: TextIO, err: TextIO, prog: str = "pinwarden", fetcher: Fetcher | None = None
) -> int:
    if argv[:1] == ["pip-compile"]:
        # Every argument after it belongs to pip-compile: argparse must not see them.
        from .piptools_ext.wrapper import main as pip_compile_main

        return pip_compile_main(argv[1:], out, err)
    if argv[:1] == ["uv"]:
        # Every argument after it belongs to uv: argparse must not see them.
        from .uv_guard.guard import main as uv_main

        return uv_main(argv[1:], out, err)
    args = build_parser(prog).parse_args(argv)
    args.argv = argv  # an approval refused for want of a reason prints the command again
    if args.command == "audit":  # the one command that reports progress and errors as it goes
        return cmd_audit(args, out, err, fetcher)
    if args.command == "acknowledge":  # asks the indexes, as audit does
        return cmd_acknowledge(args, out, err, fetcher)
    return COMMANDS[args.command](args, out)


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    *,
    prog: str = "pinwarden",
    fetcher: Fetcher | None = None,
) -> int:
    """Every error ends here as one line on stderr and exit code 2; never a traceback (ending.py)."""
    from .ending import ended

    words = list(sys.argv[1:] if argv is None else argv)
    return ended(lambda o, e: run(words, o, e, prog, fetcher), out, err)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
