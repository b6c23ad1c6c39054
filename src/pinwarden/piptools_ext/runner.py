"""The child process that runs real pip-compile for `pinwarden pip-compile` (the only pip-tools import).

    python -m pinwarden.piptools_ext.runner REPORT_FD [PIP-COMPILE ARGS...]

pip-compile's own click command parses the arguments and its config files; the runner then
points it at a private copy of the output file (in a temporary directory beside it, so pins and
hashes are reused as usual), turns on --generate-hashes, turns off --dry-run (pinwarden decides
what is written) and, for --audit, turns off hash reuse with a fresh cache. Everything it learns
goes to the pipe REPORT_FD for the wrapper (see protocol.py). pip's HashMismatch, which
pip-compile shows as a traceback, is reported as data instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Only what every run needs: this process is pip-compile's, and each import here delays it.
# pinwarden's core (ledger, lock readers) loads only when the output holds a hash the ledger lacks.
from ..shared.errors import PinwardenError
from ..shared.store import LedgerStore, ledger_path, load_settings, refuse_guarded_output
from .options import PINWARDEN_HELP, ArgumentError, SplitArgs, split_args
from .protocol import EXIT_HASH_MISMATCH, Mismatch, RunReport

if TYPE_CHECKING:
    import click

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
PROG = "pinwarden pip-compile"
_FROM_LINE = re.compile(r"\(from [^()]*line \d+[^()]*\)\s*$")
_LISTED_HASH = re.compile(r"--hash[=\s]\s*([a-z0-9]+:[0-9a-f]+)")  # in the output, lowercased
_LEDGER_HASH = re.compile(r'"([a-z0-9]+:[0-9a-f]+)"')  # a hash as the ledger writes it


class _Reporter:
    def __init__(self, fd: int) -> None:
        os.set_inheritable(fd, False)  # pip's own subprocesses must not hold the pipe open
        self.fd = fd
        self.report = RunReport()

    def update(self, **changes: Any) -> None:
        self.report = self.report.updated(**changes)
        data = (self.report.to_json() + "\n").encode("utf-8")
        while data:
            data = data[os.write(self.fd, data) :]


def main(argv: list[str]) -> int:
    reporter = _Reporter(int(argv[0]))
    reporter.update()
    try:
        return _run(argv[1:], reporter)
    except (PinwardenError, ArgumentError) as exc:
        reporter.update(error=str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:  # the wrapper got the same Ctrl-C and says so; no traceback here
        return EXIT_INTERRUPTED


def _run(args: list[str], reporter: _Reporter) -> int:
    try:  # asked here, not before the start: importing pip-tools is how to find out at no cost
        from piptools.scripts.compile import cli
    except ModuleNotFoundError as exc:
        if exc.name != "piptools":
            raise
        raise PinwardenError("pip-tools is not installed here: pip install 'pinwarden[pip-tools]'") from None
    import click
    from pip._internal.exceptions import InstallationError

    from .options import value_options

    split = split_args(args, value_options(cli))
    finders: list[Any] = []
    try:
        with (
            cli.make_context(PROG, list(split.compile_args)) as ctx,
            _finders_kept(finders),
            _echo_held(reporter),
        ):
            _prepare(ctx, split, reporter)
            cli.invoke(ctx)
    except (click.exceptions.Exit, click.ClickException, click.Abort, InstallationError) as exc:
        _report_indexes_used(finders, reporter)
        return _stopped(exc, split, reporter)
    _report_indexes_used(finders, reporter)
    reporter.update(stage="done")
    return 0


@contextlib.contextmanager
def _finders_kept(finders: list[Any]) -> Iterator[None]:
    """Keep the package finder of each repository pip-compile makes: after reading its input files,
    whose `--index-url`, `--extra-index-url` and `--no-index` lines pip applies to it, it holds the
    indexes the run used, which the command line alone does not tell."""
    from piptools.scripts import compile as compile_module

    made = getattr(compile_module, "PyPIRepository", None)
    if made is None:
        raise PinwardenError(
            "this pip-tools makes no PyPIRepository: pinwarden cannot tell the indexes it uses"
        )

    class Kept(made):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            finders.append(self.finder)

    setattr(compile_module, "PyPIRepository", Kept)  # noqa: B010 (not exported: mypy's attr check)
    try:
        yield
    finally:
        setattr(compile_module, "PyPIRepository", made)  # noqa: B010


@contextlib.contextmanager
def _echo_held(reporter: _Reporter) -> Iterator[None]:
    """pip-compile echoes every line it writes to stderr (pip-tools 7.x `_FileLineWriter`): a result
    pinwarden then refuses would be shown as if written. The echo is held back here, and the
    wrapper echoes what it really writes. A pip-tools without that class keeps its own echo."""
    from piptools import writer as writer_module

    made = getattr(writer_module, "_FileLineWriter", None)
    if made is None:
        yield
        return

    class Quiet(made):  # type: ignore[misc, valid-type]
        def __call__(self, line: str) -> None:
            from click import unstyle

            self.dst_file.write(unstyle(line))
            self.dst_file.write("\n")

    setattr(writer_module, "_FileLineWriter", Quiet)  # noqa: B010
    reporter.update(echo_held=True)
    try:
        yield
    finally:
        setattr(writer_module, "_FileLineWriter", made)  # noqa: B010


def _report_indexes_used(finders: list[Any], reporter: _Reporter) -> None:
    """The first repository is the one pip-compile resolves with (a later one reads the old output)."""
    if finders:
        finder = finders[0]
        no_index = bool(finder.search_scope.no_index)
        reporter.update(indexes=() if no_index else tuple(finder.index_urls), no_index=no_index)


def _stopped(exc: Exception, split: SplitArgs, reporter: _Reporter) -> int:
    """pip-compile stopped early: printed help, refused its arguments or input, or pip refused a file."""
    import click
    from pip._internal.exceptions import HashError, HashErrors

    if isinstance(exc, click.exceptions.Exit):  # --help and --version print and stop
        if {"-h", "--help"} & set(split.compile_args):
            click.echo(PINWARDEN_HELP.rstrip())
        reporter.update(informational=True)
        return exc.exit_code
    if isinstance(exc, (HashErrors, HashError)):
        errors = exc.errors if isinstance(exc, HashErrors) else [exc]
        reporter.update(stage="done", mismatches=tuple(_mismatch(e) for e in errors))
        return EXIT_HASH_MISMATCH
    if isinstance(exc, click.ClickException):
        reporter.update(error=f"{exc.format_message()} (see '{PROG} --help')")
    elif isinstance(exc, click.Abort):
        reporter.update(error="aborted")
    else:  # a malformed input file, which pip-compile would show as a traceback
        reporter.update(error=_one_line(str(exc)))
    return EXIT_ERROR


def _prepare(ctx: click.Context, split: SplitArgs, reporter: _Reporter) -> None:
    """Decide the private output, fill in the report, then point pip-compile's parameters at it."""
    from .options import header_command, index_urls, output_name

    output = output_name(ctx)
    _check_audit(ctx, split, output)
    settings, base = load_settings(Path.cwd())
    explicit = Path(split.ledger) if split.ledger else None
    locks = [Path(output)] if output != "-" else []
    store = LedgerStore(ledger_path(explicit, settings, base, locks))
    if output != "-":
        refuse_guarded_output(Path(output), store.path)
    indexes, no_index = index_urls(ctx)
    temp_dir = make_temp_dir(output)
    temp_output = temp_dir / (Path(output).name if output != "-" else "requirements.txt")
    reporter.update(
        stage="prepared",
        output=output,
        temp_dir=str(temp_dir),
        temp_output=str(temp_output),
        ledger=str(store.path),
        first_use=settings.first_use,
        audit=split.audit,
        dry_run=bool(ctx.params.get("dry_run")),
        verbosity=int(ctx.params.get("verbose") or 0) - int(ctx.params.get("quiet") or 0),
        no_interaction=split.no_interaction,
        indexes=indexes,
        no_index=no_index,
    )
    stripped = copy_output(Path(output), temp_output, store) if output != "-" else []
    reporter.update(stripped=tuple(f"{name}=={version}" for name, version in stripped))
    os.environ.setdefault("CUSTOM_COMPILE_COMMAND", header_command(ctx))
    _override(ctx, temp_output, temp_dir if split.audit else None)


def _check_audit(ctx: click.Context, split: SplitArgs, output: str) -> None:
    import click

    if not split.audit:
        return
    if ctx.params.get("upgrade") or ctx.params.get("upgrade_packages"):
        raise click.UsageError("--audit re-hashes the current pins: it cannot be combined with -U/-P")
    if output == "-" or not Path(output).is_file():
        raise click.UsageError(f"--audit checks an existing output file, and {output} is none")


def make_temp_dir(output: str) -> Path:
    """Beside the output, so relative paths and the final rename stay on one file system."""
    parent = Path(output).parent if output != "-" else Path(tempfile.gettempdir())
    try:
        return Path(tempfile.mkdtemp(prefix=".pinwarden-", dir=parent))
    except OSError as exc:
        raise PinwardenError(f"cannot create a temporary directory in {parent}: {exc.strerror}") from None


def copy_output(output: Path, temp_output: Path, store: LedgerStore) -> list[tuple[str, str]]:
    """Copy the existing output; pins the ledger no longer trusts lose their hashes (re-hashed)."""
    if not output.is_file():
        return []
    shutil.copyfile(output, temp_output)
    try:
        with output.open(encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return []  # pip-compile reads it its own way and says what is wrong
    stale = _stale_pins(text, store)
    if stale:
        from .writer import keep_hashes

        edited = keep_hashes(text, lambda key, _digest: key not in stale)
        with temp_output.open("w", encoding="utf-8", newline="") as handle:
            handle.write(edited)
    return stale


def _stale_pins(text: str, store: LedgerStore) -> list[tuple[str, str]]:
    """writer.untrusted_pins, after a look at the ledger's text: when every hash of the output is
    written there (the usual run), none can be untrusted, and the ledger need not be parsed."""
    if not store.exists():
        return []
    try:
        ledger_text = store.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        ledger_text = ""  # store.load() says what is wrong
    if set(_LISTED_HASH.findall(text.lower())) <= set(_LEDGER_HASH.findall(ledger_text)):
        return []
    from .writer import untrusted_pins

    return [(str(name), version) for name, version in untrusted_pins(text, store.load())]


def _override(ctx: click.Context, temp_output: Path, audit_cache: Path | None) -> None:
    """The only changes to what the user asked pip-compile for (see the module docstring)."""
    import click

    command = ctx.command
    option = next(p for p in command.params if p.name == "output_file")
    assert isinstance(option.type, click.File)
    ctx.params["output_file"] = option.type.convert(str(temp_output), option, ctx)
    ctx.params["generate_hashes"] = True
    ctx.params["dry_run"] = False
    if audit_cache is not None:
        ctx.params["reuse_hashes"] = False
        ctx.params["cache_dir"] = str(audit_cache / "cache")


def _mismatch(error: Exception) -> Mismatch:
    req = getattr(error, "req", None)
    link = getattr(req, "link", None)
    allowed: dict[str, list[str]] = getattr(error, "allowed", {}) or {}
    gots: dict[str, Any] = getattr(error, "gots", {}) or {}
    return Mismatch(
        name=getattr(req, "name", None),
        url=getattr(link, "url", None),
        expected=tuple(f"{alg}:{value}" for alg, values in allowed.items() for value in values),
        got=tuple(f"{alg}:{digest.hexdigest()}" for alg, digest in gots.items()),
    )


def _one_line(message: str) -> str:
    """pip's multi-line parse errors (with a caret under the bad spot) as one line that says where."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return "pip-compile could not read its input"
    where = _FROM_LINE.search(lines[-1])
    first = lines[0]
    return f"{first} {where.group(0).strip()}" if where and where.group(0) not in first else first


if __name__ == "__main__":  # pragma: no cover - run as a module by the wrapper
    sys.exit(main(sys.argv[1:]))
