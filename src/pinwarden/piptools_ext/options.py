"""pip-compile's effective options, read the way pip-compile reads them (runner process only).

`split_args` takes pinwarden's own options out of the command line; everything else goes to
pip-compile's click command, whose `make_context` applies `.pip-tools.toml` / `[tool.pip-tools]`.
What the command body decides for itself (the output file's name, the indexes pip will use) is
repeated here from pip-tools 7.x, because pinwarden must know it before pip-compile runs.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

AUDIT = "--audit"
LEDGER = "--pinwarden-ledger"
NO_INTERACTION = "--no-interaction"  # Poetry's word: pip-compile's own -n means --dry-run
PINWARDEN_HELP = f"""
pinwarden pip-compile: runs this pip-compile with --generate-hashes on a private copy of the
output file, compares every hash with the pinwarden ledger, trusts a version never seen on first
use, asks (or, with nobody at the terminal, refuses) for anything new about a trusted version,
and only then replaces the output file; otherwise it is left byte for byte as it was.

pinwarden options (every other option is pip-compile's own):
  {AUDIT}                   Re-hash every pin from a fresh cache and compare with the ledger;
                            writes nothing. Exit 1 when a pinned version's files changed.
  {NO_INTERACTION}          Never ask: refuse what needs a person's approval and print the
                            approve command (as without a terminal, or with CI set to
                            any value).
  {LEDGER} PATH   The ledger file (default: pinwarden-ledger.toml beside the output
                            file, or [tool.pinwarden] ledger in pyproject.toml).

Exit codes:
  0  written, or nothing to write (also a clean --audit or --dry-run)
  1  refused, aborted, or findings: nothing untrusted was written
  2  an error (bad arguments or input, pip-compile failing for its own reasons): one
     line on stderr starting 'pinwarden: error:'
"""


class ArgumentError(ValueError):
    """A pinwarden option used wrongly (reported as a one-line error, exit 2)."""


@dataclass(frozen=True, slots=True)
class SplitArgs:
    compile_args: tuple[str, ...]
    audit: bool = False
    ledger: str | None = None
    no_interaction: bool = False


def split_args(argv: Sequence[str], value_options: frozenset[str]) -> SplitArgs:
    """Take out `--audit`, `--no-interaction` and `--pinwarden-ledger PATH`; leave the rest as it is.

    Option values are skipped (`--pip-args --audit` passes "--audit" to pip), and nothing after a
    literal `--` is looked at: those are source files.
    """
    rest: list[str] = []
    audit = no_interaction = False
    ledger: str | None = None
    args = list(argv)
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            rest.extend(args[i:])
            break
        name, eq, inline = token.partition("=")
        if token == AUDIT:
            audit = True
        elif token == NO_INTERACTION:
            no_interaction = True
        elif name == LEDGER:
            if not eq and i + 1 >= len(args):
                raise ArgumentError(f"{LEDGER} needs a path")
            ledger = inline if eq else args[i + 1]
            i += 0 if eq else 1
            if not ledger:
                raise ArgumentError(f"{LEDGER} needs a path")
        else:
            rest.append(token)
            if _takes_next(token, value_options) and i + 1 < len(args):
                rest.append(args[i + 1])
                i += 1
        i += 1
    return SplitArgs(tuple(rest), audit, ledger, no_interaction)


def _takes_next(token: str, value_options: frozenset[str]) -> bool:
    """Whether the next argument is this option's value (`-o FILE`, `-vP FILE`, not `-o=FILE`/`-ofile`)."""
    if token.startswith("--"):
        return token in value_options
    if not token.startswith("-") or token == "-":
        return False
    for position, char in enumerate(token[1:], start=1):
        if f"-{char}" in value_options:
            return position == len(token) - 1  # the rest of the cluster is its value otherwise
    return False


def value_options(command: click.Command) -> frozenset[str]:
    """Every option name of the command that takes a value."""
    import click

    names: set[str] = set()
    for param in command.params:
        if isinstance(param, click.Option) and not param.is_flag and not param.count:
            names.update(param.opts)
            names.update(param.secondary_opts)
    return frozenset(names)


def output_name(ctx: click.Context) -> str:
    """The output file pip-compile will write, as its command body derives it (pip-tools 7.x)."""
    import click
    from piptools.scripts import compile as pc

    output = ctx.params.get("output_file")
    src_files = tuple(ctx.params.get("src_files") or ()) or _default_sources(pc.DEFAULT_REQUIREMENTS_FILES)
    if output is not None:
        name = str(output.name)
    elif src_files == ("-",):
        raise click.BadParameter("--output-file is required if input is from stdin")
    elif Path(src_files[0]).name in pc.METADATA_FILENAMES:
        # pip-tools joins with os.path: "pyproject.toml" gives "requirements.txt", not "./requirements.txt"
        name = os.path.join(os.path.dirname(src_files[0]), pc.DEFAULT_REQUIREMENTS_OUTPUT_FILE)  # noqa: PTH118, PTH120
    elif len(src_files) > 1:
        raise click.BadParameter("--output-file is required if two or more input files are given.")
    else:
        name = src_files[0].rsplit(".", 1)[0] + ".txt"
    if name != "-" and name in src_files:
        raise click.BadArgumentUsage(f"input and output filenames must not be matched: {name}")
    return name


def _default_sources(candidates: Sequence[str]) -> tuple[str, ...]:
    import click

    for candidate in candidates:
        if Path(candidate).exists():
            return (candidate,)
    raise click.BadParameter(
        f"If you do not specify an input file, the default is one of: {', '.join(candidates)}"
    )


def index_urls(ctx: click.Context) -> tuple[tuple[str, ...], bool]:
    """(index URLs in pip's order, --no-index), after pip.conf, PIP_* and --pip-args, as pip sees them."""
    from pip._internal.commands import create_command

    params = ctx.params
    pip_args: list[str] = []
    for link in params.get("find_links") or ():
        pip_args += ["-f", link]
    if params.get("index_url"):
        pip_args += ["-i", params["index_url"]]
    if params.get("no_index"):
        pip_args.append("--no-index")
    for extra in params.get("extra_index_url") or ():
        pip_args += ["--extra-index-url", extra]
    pip_args += shlex.split(params.get("pip_args_str") or "")
    try:
        options, _ = create_command("install").parse_args(pip_args)
    except SystemExit:  # a bad --pip-args: pip-compile itself will say so
        return (), False
    if options.no_index:
        return (), True
    return (options.index_url, *options.extra_index_urls), False


def header_command(ctx: click.Context) -> str:
    """The command line pip-compile would print in the output's header, as `pinwarden pip-compile ...`."""
    from piptools.utils import get_compile_command

    command = get_compile_command(ctx)
    prefix = "pip-compile"
    return "pinwarden " + command if command.startswith(prefix) else command
