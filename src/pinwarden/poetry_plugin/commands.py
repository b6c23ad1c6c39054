"""`poetry pinwarden check|audit|approve|init|show|diff`: the standalone CLI's commands, inside Poetry.

`poetry pinwarden` alone lists them. check, audit, init, show and diff run the CLI itself (same
options, output and exit codes: 0 fine, 1 findings, 2 error) in the Poetry project's directory;
their help is the CLI's (cli.command_help); audit and acknowledge ask the indexes through Poetry's own
sources and authenticator. approve trusts what poetry.lock holds, as `pinwarden approve` does (one
default for both: the bytes a reviewer sees in the lock's diff, offline); with `--from-index` it
fetches the version's current files through the project's Poetry sources (what `pinwarden approve
--from-index` does with plain index URLs), which is what a blocked `poetry lock` prints, since it
left poetry.lock unchanged.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from cleo.helpers import argument, option
from cleo.io.outputs.output import Type as OutputType
from poetry.console.commands.command import Command

if TYPE_CHECKING:
    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option

    from ..shared.auditing import Fetcher

PROG = "poetry pinwarden"
EXIT_ERROR = 2


def _ledger_option() -> Option:
    return option(
        "ledger",
        None,
        "Ledger file (default: [tool.pinwarden] ledger in pyproject.toml, else "
        "pinwarden-ledger.toml beside poetry.lock).",
        flag=False,
    )


def _format_option() -> Option:
    return option("format", None, "Output format: text or json.", flag=False, default="text")


def _locks_argument() -> Argument:
    return argument(
        "locks",
        "poetry.lock or hashed requirements files (default: the project's poetry.lock and "
        "requirements files).",
        optional=True,
        multiple=True,
    )


@cache
def _cli_help(name: str) -> tuple[str, str]:
    """The CLI's summary (as a sentence, for `poetry list`) and help of a command: one text for both."""
    from ..cli import command_help

    summary, text = command_help(name, PROG)
    return summary[:1].upper() + summary[1:] + ".", text


def _exit_codes(ok: str, findings: str | None) -> str:
    from ..cli import exit_codes

    return exit_codes(ok, findings)


class _CliCommand(Command):
    """Runs `pinwarden <cli_name> ...` in the project's directory and relays its output."""

    cli_name: ClassVar[str]
    path_arguments: ClassVar[tuple[str, ...]] = ()

    def handle(self) -> int:
        return self.run_cli(self.cli_argv())

    def cli_argv(self) -> list[str]:
        argv = [self.cli_name]
        for name in self.path_arguments:
            argv += [_absolute(p) for p in self.argument(name) or []]
        if self.option("ledger"):
            argv += ["--ledger", _absolute(self.option("ledger"))]
        return argv

    def run_cli(self, argv: list[str], fetcher: Fetcher | None = None) -> int:
        from ..cli import main

        out, err = io.StringIO(), io.StringIO()
        with _chdir(self.get_application().project_directory):
            code = main(argv, out, err, prog=PROG, fetcher=fetcher)
        self.io.output.write(out.getvalue(), type=OutputType.RAW)
        self.io.error_output.write(err.getvalue(), type=OutputType.RAW)
        return code


class CheckCommand(_CliCommand):
    name = "pinwarden check"
    description, help = _cli_help("check")
    arguments: ClassVar[list[Argument]] = [_locks_argument()]
    options: ClassVar[list[Option]] = [_ledger_option(), _format_option()]
    cli_name = "check"
    path_arguments = ("locks",)

    def cli_argv(self) -> list[str]:
        return [*super().cli_argv(), "--format", self.option("format")]


class InitCommand(_CliCommand):
    name = "pinwarden init"
    description, help = _cli_help("init")
    arguments: ClassVar[list[Argument]] = [_locks_argument()]
    options: ClassVar[list[Option]] = [
        _ledger_option(),
        option(
            "trusted-since",
            None,
            "Date the adopted trust from DATE (YYYY-MM-DD) instead of the lock's git history.",
            flag=False,
        ),
    ]
    cli_name = "init"
    path_arguments = ("locks",)

    def cli_argv(self) -> list[str]:
        since = self.option("trusted-since")
        return [*super().cli_argv(), *(["--trusted-since", since] if since is not None else [])]


class ShowCommand(_CliCommand):
    name = "pinwarden show"
    description, help = _cli_help("show")
    arguments: ClassVar[list[Argument]] = [argument("name", "Only this project.", optional=True)]
    options: ClassVar[list[Option]] = [_ledger_option(), _format_option()]
    cli_name = "show"

    def cli_argv(self) -> list[str]:
        name = self.argument("name")
        return [*super().cli_argv(), *([name] if name else []), "--format", self.option("format")]


class DiffCommand(_CliCommand):
    name = "pinwarden diff"
    description, help = _cli_help("diff")
    arguments: ClassVar[list[Argument]] = [
        argument("revision", "The git revision to compare with.", optional=True, default="HEAD")
    ]
    options: ClassVar[list[Option]] = [_ledger_option(), _format_option()]
    cli_name = "diff"

    def cli_argv(self) -> list[str]:
        return [*super().cli_argv(), self.argument("revision"), "--format", self.option("format")]


class ApproveCommand(_CliCommand):
    name = "pinwarden approve"
    description = "Trust what poetry.lock holds for NAME==VERSION (--from-index: what the sources serve)."
    arguments: ClassVar[list[Argument]] = [
        argument("items", "NAME==VERSION to trust (then lock files, without --from-index).", multiple=True)
    ]
    options: ClassVar[list[Option]] = [
        option("reason", None, "Why this change is expected (kept in the ledger).", flag=False),
        option("from-lock", None, "Trust what poetry.lock holds (the default, as pinwarden approve)."),
        option("from-index", None, "Trust what the project's Poetry sources serve now instead."),
        option(
            "hash",
            None,
            "Record only the files with these digests (the reviewed ones); nothing if one is not served.",
            flag=False,
            multiple=True,
        ),
        option("replace", None, "A trusted file served with other bytes may replace the trusted ones."),
        _ledger_option(),
    ]
    cli_name = "approve"
    help = """By default records what poetry.lock holds for each version (as <c1>pinwarden approve</>),
and says so, listing the files and hashes. With <c1>--from-index</> it fetches each version's current
files through the project's own Poetry sources (their credentials included), hashes the bytes, shows
them and records them: what a blocked <c1>poetry lock</> prints, since it left poetry.lock unchanged;
rerun the blocked command afterwards. A change to a trusted file's bytes needs <c1>--reason</>.

""" + _exit_codes(
        "recorded, or already trusted",
        "refused, nothing recorded (a changed file without --reason, a --hash no longer served, a "
        "trusted file served with other bytes without --replace)",
    )

    def handle(self) -> int:
        items = [i if "==" in i else _absolute(i) for i in self.argument("items")]
        if self.option("from-lock") and self.option("from-index"):
            message = "pinwarden: error: --from-lock or --from-index, not both\n"
            self.io.error_output.write(message, type=OutputType.RAW)
            return EXIT_ERROR
        if not self.option("from-index"):
            reason = ["--reason", self.option("reason")] if self.option("reason") else []
            bound = [w for digest in self.option("hash") or [] for w in ("--hash", digest)]
            replace = ["--replace"] if self.option("replace") else []
            # The CLI refuses --hash/--replace without --from-index, naming the flag to add.
            return self.run_cli([*self.cli_argv(), *items, *reason, *bound, *replace])
        return self._from_sources(items)

    def _from_sources(self, items: list[str]) -> int:
        from ..shared.approval import bound_digest
        from ..shared.errors import PinwardenError
        from ..shared.model import InvalidValue
        from .approve import approve_from_sources

        out = io.StringIO()
        ledger = self.option("ledger")
        try:
            code = approve_from_sources(
                self.poetry,
                items,
                reason=self.option("reason"),
                ledger=Path(_absolute(ledger)) if ledger else None,
                out=out,
                bound=[bound_digest(text) for text in self.option("hash")],
                replace_allowed=bool(self.option("replace")),
                command=_command_line(items, self.option("hash"), bool(self.option("replace"))),
            )
        except (PinwardenError, InvalidValue) as error:
            self.io.error_output.write(f"pinwarden: error: {_masked(error)}\n", type=OutputType.RAW)
            return EXIT_ERROR
        finally:
            self.io.output.write(_masked(out.getvalue()), type=OutputType.RAW)
        return code


class AuditCommand(_CliCommand):
    name = "pinwarden audit"
    arguments: ClassVar[list[Argument]] = [_locks_argument()]
    options: ClassVar[list[Option]] = [
        _ledger_option(),
        _format_option(),
        option(
            "index-url",
            None,
            "Ask this index instead of those the locks name, a mirror (default: the source "
            "poetry.lock names for each package).",
            flag=False,
        ),
        option("extra-index-url", None, "Ask this index too.", flag=False, multiple=True),
        option("update-baseline", None, "Record what the indexes serve now as seen (never trusted)."),
        option("timeout", None, "Seconds per read of a request.", flag=False, default="15"),
        option("jobs", None, "Requests at once.", flag=False, default="16"),
    ]
    cli_name = "audit"
    path_arguments = ("locks",)
    description = _cli_help("audit")[0]
    help = (
        "Here the indexes poetry.lock names are asked through the project's Poetry sources: their\n"
        "credentials, certificates and cache.\n\n" + _cli_help("audit")[1]
    )

    def cli_argv(self) -> list[str]:
        argv = [*super().cli_argv(), "--format", self.option("format")]
        argv += ["--timeout", self.option("timeout"), "--jobs", self.option("jobs")]
        if self.option("index-url"):
            argv += ["--index-url", self.option("index-url")]
        for url in self.option("extra-index-url") or []:
            argv += ["--extra-index-url", url]
        return argv + (["--update-baseline"] if self.option("update-baseline") else [])

    def handle(self) -> int:
        from .index import PoetryFetcher

        try:
            timeout = float(self.option("timeout"))
        except ValueError:
            timeout = 15.0  # the CLI reports the bad value itself
        # Poetry's own --no-cache already gives the sources sessions without a cache.
        fetcher = PoetryFetcher(self.poetry.pool, self.poetry.config, timeout=timeout)
        return self.run_cli(self.cli_argv(), fetcher=fetcher)


class NamespaceCommand(Command):
    """`poetry pinwarden` (and its --help): lists every `pinwarden ...` command Poetry knows,
    whoever registered it, so a new command shows without an edit here."""

    name = "pinwarden"
    description = "Guard poetry.lock's hashes with the pinwarden ledger; lists its commands."
    # cleo runs this command for `poetry pinwarden NAME` when no `pinwarden NAME` exists.
    arguments: ClassVar[list[Argument]] = [argument("unknown", "Not a pinwarden command.", optional=True)]

    @property
    def processed_help(self) -> str:
        return self._listing()

    def handle(self) -> int:
        unknown = self.argument("unknown")
        if unknown:
            message = f"pinwarden: error: {unknown!r} is not a command (see '{PROG}')\n"
            self.io.error_output.write(_masked(message), type=OutputType.RAW)
            return EXIT_ERROR
        self.line(self._listing())
        return 0

    def _listing(self) -> str:
        application = self.get_application()
        names = sorted(n for n in application.all() if n.startswith(f"{self.name} "))
        width = max((len(n) for n in names), default=0)
        rows = [f"  <c1>{n:<{width}}</>  {application.get(n).description}" for n in names]
        return "\n".join(
            [
                "Trust on first use for dependency hashes: a ledger of every file hash you trusted.",
                "Poetry's lock, add, update, remove and first install are guarded once the plugin is in.",
                "",
                "<b>Commands:</b>",
                *rows,
                "",
                f"Run '{PROG} COMMAND --help' for what a command does, its defaults and exit codes.",
                "",
                _exit_codes("fine", "findings, or a refusal: nothing was written"),
            ]
        )


class AcknowledgeCommand(_CliCommand):
    name = "pinwarden acknowledge"
    description = "Record that what the audit reports about NAME==VERSION upstream is known."
    arguments: ClassVar[list[Argument]] = [
        argument("items", "NAME==VERSION to acknowledge, then lock files.", multiple=True)
    ]
    options: ClassVar[list[Option]] = [
        option("reason", None, "Why the facts are accepted (required; recorded).", flag=False),
        option("index-url", None, "Ask this index instead of those the locks name.", flag=False),
        option("extra-index-url", None, "Ask this index too.", flag=False, multiple=True),
        _ledger_option(),
    ]
    cli_name = "acknowledge"
    help = """Asks the project's Poetry sources about each version now, and records the findings that are
facts of the index (yanked, version-gone, project-gone, missing-file, new-file and its signs,
project-recreated) as acknowledged, with who (git's user.name, else $USER), when and why, in the audit
baseline beside the ledger. Later audits leave exactly those out; anything new is reported. Nothing is
trusted.

""" + _exit_codes("acknowledged", "nothing to acknowledge (what ends the other findings is printed)")

    def cli_argv(self) -> list[str]:
        argv = [*super().cli_argv(), *(i if "==" in i else _absolute(i) for i in self.argument("items"))]
        if self.option("reason") is not None:
            argv += ["--reason", self.option("reason")]
        if self.option("index-url"):
            argv += ["--index-url", self.option("index-url")]
        for url in self.option("extra-index-url") or []:
            argv += ["--extra-index-url", url]
        return argv

    def handle(self) -> int:
        from .index import PoetryFetcher

        fetcher = PoetryFetcher(self.poetry.pool, self.poetry.config, timeout=15.0)
        return self.run_cli(self.cli_argv(), fetcher=fetcher)


COMMANDS: dict[str, type[Command]] = {
    "acknowledge": AcknowledgeCommand,
    "audit": AuditCommand,
    "check": CheckCommand,
    "approve": ApproveCommand,
    "diff": DiffCommand,
    "init": InitCommand,
    "show": ShowCommand,
}


def _command_line(items: list[str], hashes: list[str], replace: bool) -> str:
    import shlex

    words = [*PROG.split(), "approve", "--from-index", *items]
    words += [w for digest in hashes for w in ("--hash", digest)] + (["--replace"] if replace else [])
    return shlex.join(words)


def _absolute(path: str) -> str:
    """Poetry resolves arguments against the working directory; the CLI runs in the project's."""
    return str(Path(path).absolute())


@contextlib.contextmanager
def _chdir(directory: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)


def _masked(text: object) -> str:
    from ..shared.index.sources import redact_url  # a password in a source URL is never printed

    return redact_url(str(text))
