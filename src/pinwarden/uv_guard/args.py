"""A uv command line read as uv (clap) reads it, as far as the guard needs: which command, which of
its options, and where uv's options end (`uv run CMD ARGS...`: the arguments after CMD are CMD's).

Pure. The tables are uv 0.13's (`uv COMMAND --help`); tests/test_uv_guard_args.py compares them
with the installed uv's help, so a uv that adds an option taking a value is noticed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

GUARDED = frozenset({"lock", "sync", "run", "export", "tree", "add", "remove"})
LEDGER = "--pinwarden-ledger"
NO_INTERACTION = "--no-interaction"


def _names(text: str) -> list[str]:
    return text.split()


# Long options that take a value in some guarded command (`--script` and `--no-binary`: _takes_value),
# the hidden ones and aliases too (uv 0.13's clap `hide = true` args, crates/uv-cli/src/lib.rs):
# an unknown option is refused, never guessed to be a flag (its value would be read as the command).
_VALUE_LONG = frozenset(
    _names(
        """
    --allow-insecure-host --annotation-style --bounds --branch --build-constraints --cache-dir --cert
    --color --config-file --config-setting --config-settings-package --constraints
    --custom-compile-command --default-index --depth --directory --env-file --exclude-newer
    --exclude-newer-package --excludes --extra --extra-index-url --find-links --fork-strategy --format
    --group --index --index-strategy --index-url --keyring-provider --link-mode --marker
    --no-binary-package --no-build-isolation-package --no-build-package --no-editable-package
    --no-emit-package --no-extra --no-group --no-install-package --no-sources-package --only-binary
    --only-group --optional --output-file --output-format --overrides --package --prerelease
    --prerelease-package --project --prune --python --python-platform --python-version
    --refresh-package --reinstall-package --requirements --resolution --rev --tag --torch-backend
    --upgrade-group --upgrade-package --with --with-editable --with-requirements
    --build-constraint --client-cert --config --config-settings --constraint --exclude
    --max-recursion-depth --max-rounds --only-emit-package --only-install-package --override
    --pip-args --preview-feature --preview-features --python-fetch --python-preference --requirement
    --resolver --trusted-host --unsafe-package
        """
    )
)
# Long options known to take no value (visible and hidden, aliases included).
_FLAG_LONG = frozenset(
    _names(
        """
    --active --all-extras --all-groups --all-packages --allow-python-downloads --allow-unsafe
    --annotate --binary --build --build-isolation --check --check-exists --compile --compile-bytecode
    --deps --dev --dry-run --editable --emit-build-options --emit-find-links --emit-index-annotation
    --emit-index-url --emit-marker-expression --emit-options --emit-trusted-host --exact
    --force-reinstall --frozen --generate-hashes --gui-script --hashes --header --help --inexact
    --invert --isolated --lfs --locked --managed-python --module --native-tls --no-active
    --no-all-extras --no-allow-unsafe --no-annotate --no-binary --no-build --no-build-isolation
    --no-cache --no-check --no-color --no-compile --no-compile-bytecode --no-config --no-dedupe
    --no-default-groups --no-deps --no-dev --no-editable --no-emit-build-options --no-emit-find-links
    --no-emit-index-annotation --no-emit-index-url --no-emit-local --no-emit-marker-expression
    --no-emit-options --no-emit-project --no-emit-trusted-host --no-emit-workspace --no-env-file
    --no-exact --no-generate-hashes --no-hashes --no-header --no-index --no-install-local
    --no-install-project --no-install-workspace --no-installer-metadata --no-managed-python
    --no-native-tls --no-offline --no-preview --no-progress --no-project --no-python-downloads
    --no-refresh --no-reinstall --no-require-build-hashes --no-reuse-hashes --no-sources
    --no-strip-extras --no-strip-markers --no-sync --no-system --no-system-certs --no-universal
    --no-upgrade --no-workspace --no_workspace --offline --only-dev --only-emit-local
    --only-emit-project --only-emit-workspace --only-install-local --only-install-project
    --only-install-workspace --outdated --pre --preview --quiet --raw --raw-sources --refresh
    --reinstall --require-build-hashes --reuse-hashes --reverse --script --show-resolution
    --show-settings --show-sizes --strip-extras --strip-markers --system --system-certs --universal
    --upgrade --verbose --workspace
        """
    )
)
# uv's global options: the only ones uv takes before the command.
_GLOBAL_VALUE = frozenset(
    _names(
        """
    --allow-insecure-host --cache-dir --color --config-file --directory --preview-feature
    --preview-features --project --python-fetch --python-preference --trusted-host
        """
    )
)
_GLOBAL_FLAG = frozenset(
    _names(
        """
    --allow-python-downloads --help --isolated --managed-python --native-tls --no-cache --no-color
    --no-config --no-installer-metadata --no-managed-python --no-native-tls --no-offline --no-preview
    --no-progress --no-python-downloads --no-system-certs --offline --preview --quiet --show-settings
    --system-certs --verbose --version
        """
    )
)
# Aliases uv takes for an option the guard reads or passes on: read under uv's own name.
ALIASES = {
    "--config-settings": "--config-setting",
    "--trusted-host": "--allow-insecure-host",
    "--preview-feature": "--preview-features",
    "--compile": "--compile-bytecode",
    "--no-compile": "--no-compile-bytecode",
    "--force-reinstall": "--reinstall",
    "--constraint": "--constraints",
    "--requirement": "--requirements",
    "--build-constraint": "--build-constraints",
    "--exclude": "--excludes",
    "--override": "--overrides",
    "--no-exact": "--inexact",
    "--raw-sources": "--raw",
    "--reverse": "--invert",
    "--no_workspace": "--no-project",
}
_SHORT = {
    "-i": "--index-url",
    "-f": "--find-links",
    "-U": "--upgrade",
    "-P": "--upgrade-package",
    "-C": "--config-setting",
    "-n": "--no-cache",
    "-p": "--python",
    "-q": "--quiet",
    "-v": "--verbose",
    "-h": "--help",
    "-V": "--version",
}
_SHORT_BY_COMMAND = {
    "run": {"-m": "--module", "-w": "--with", "-s": "--script"},
    "export": {"-o": "--output-file"},
    "tree": {"-d": "--depth"},
    "add": {"-r": "--requirements", "-c": "--constraints", "-m": "--marker"},
    "pip compile": {"-c": "--constraints", "-b": "--build-constraints", "-o": "--output-file"},
}

# What `uv lock` accepts (uv 0.13): the options of another command that are passed to the staged lock.
LOCK_OPTIONS = frozenset(
    _names(
        """
    --allow-insecure-host --cache-dir --color --config-file --config-setting --config-settings-package
    --default-index --exclude-newer --exclude-newer-package --extra-index-url --find-links
    --fork-strategy --index --index-strategy --index-url --keyring-provider --link-mode --managed-python
    --no-binary --no-binary-package --no-build --no-build-isolation --no-build-isolation-package
    --no-build-package --no-cache --no-config --no-index --no-managed-python --no-progress
    --no-python-downloads --no-require-build-hashes --no-sources --no-sources-package --offline
    --prerelease --prerelease-package --python --quiet --refresh --refresh-package
    --require-build-hashes --resolution --system-certs --upgrade --upgrade-group --upgrade-package
    --verbose
    --allow-python-downloads --build --build-isolation --native-tls --no-color
    --no-installer-metadata --no-native-tls --no-offline --no-preview --no-refresh
    --no-system-certs --no-upgrade --preview --preview-features --python-fetch --python-preference
        """
    )
)
# What `uv sync` accepts besides them (after `add`/`remove`, the environment is synced in place).
SYNC_OPTIONS = LOCK_OPTIONS | frozenset(
    _names(
        """
    --active --compile-bytecode --no-install-local --no-install-project --no-install-workspace
    --reinstall --reinstall-package --inexact --output-format --python-platform
    --no-active --no-compile-bytecode --no-reinstall --exact
        """
    )
)
UPGRADES = frozenset({"--upgrade", "--upgrade-package", "--upgrade-group"})
# Options that install what uv.lock does not pin, or lock a script instead: never guarded silently.
UNGUARDED = frozenset({"--with", "--with-editable", "--with-requirements", "--script", "--gui-script"})
# Where uv's words are read option by option (elsewhere, after the command, they pass to uv as given).
STRICT = GUARDED | {"pip compile"}


PINWARDEN_HELP = f"""
pinwarden uv: a command that may write uv.lock (lock; sync, run, export, tree when uv.lock is out of
date or with --upgrade, --upgrade-package or --refresh; add, remove) locks first in a staging copy
beside the workspace root; the new uv.lock is compared with the pinwarden ledger, a version never
seen is trusted on first use, anything new about a trusted version is asked (or, with nobody at
the terminal, refused with the approve command), and only then is uv.lock written. The command
then runs with --locked: uv never writes or installs from a lock pinwarden did not review. With
nothing new, uv.lock is checked offline and nothing is staged. `uv pip compile` is reviewed as
`pinwarden pip-compile` reviews pip-compile (always with --generate-hashes).

pinwarden options (before the program of `uv run`; every other option is uv's own):
  {NO_INTERACTION}          Never ask: refuse what needs a person's approval and print the
                            approve command (as without a terminal, or with CI set).
  {LEDGER} PATH   The ledger file (default: pinwarden-ledger.toml beside uv.lock, or
                            [tool.pinwarden] ledger in pyproject.toml).

Exit codes:
  0  done, or nothing to write
  1  refused or aborted: uv.lock, the ledger and the environment are unchanged
  2  an error (bad arguments or input): one line on stderr starting 'pinwarden: error:'
  uv's own exit code when uv fails (and the program's, for uv run)
"""


class UsageError(ValueError):
    """An argument the guard cannot take (one line, exit 2)."""


@dataclass(frozen=True, slots=True)
class Option:
    name: str  # the long spelling
    value: str | None = None

    def words(self) -> tuple[str, ...]:
        return (self.name,) if self.value is None else (self.name, self.value)


@dataclass(frozen=True, slots=True)
class Invocation:
    """`pinwarden uv ...` read: uv's options (global ones before the command included), the
    positionals in order (`rest`: for `run`, the command and everything after it, untouched)."""

    command: str  # "sync", "pip compile", ... ; "" when there is none
    options: tuple[Option, ...]
    positionals: tuple[str, ...]
    rest: tuple[str, ...] = ()
    ledger: str | None = None
    no_interaction: bool = False
    uv_argv: tuple[str, ...] = ()  # uv's words as given (pinwarden's own taken out)

    def has(self, *names: str) -> bool:
        return any(o.name in names for o in self.options)

    def values(self, name: str) -> list[str]:
        return [o.value for o in self.options if o.name == name and o.value is not None]

    def last(self, name: str) -> str | None:
        found = self.values(name)
        return found[-1] if found else None

    def words(self, keep: Iterable[str] | None = None, drop: Iterable[str] = ()) -> list[str]:
        """The options as words, only those named in `keep` (all when None), never those in `drop`."""
        kept = None if keep is None else frozenset(keep)
        dropped = frozenset(drop)
        return [
            w
            for o in self.options
            if (kept is None or o.name in kept) and o.name not in dropped
            for w in o.words()
        ]


def parse(argv: Sequence[str]) -> Invocation:
    """Raises UsageError for a pinwarden option without its value, an option missing its value, or an
    option the tables do not know (before the command, or within a command pinwarden guards)."""
    args = list(argv)
    options: list[Option] = []
    kept: list[str] = []  # uv's words as given, without pinwarden's
    ledger: str | None = None
    no_interaction = False
    command = ""
    positionals: list[str] = []
    rest: tuple[str, ...] = ()
    i = 0
    while i < len(args):
        token, start = args[i], i
        if command and command != "pip" and command not in STRICT:
            kept.extend(args[i:])  # another uv command: its words are uv's to read
            break
        if token == "--" and (not command or command == "pip"):
            raise UsageError("`--` before the uv command")
        if token == "--" or (command == "run" and (token == "-" or not token.startswith("-"))):
            # uv run: the program and its arguments are the program's; after `--`, positionals.
            rest = tuple(args[i:]) if command == "run" else ()
            positionals.extend(args[i + 1 :] if command != "run" else ())
            kept.extend(args[i:])
            break
        if token == NO_INTERACTION:
            no_interaction = True
        elif token == LEDGER or token.startswith(LEDGER + "="):
            ledger, i = _value(args, i, LEDGER)
        elif token.startswith("-") and token != "-":
            parsed, i = _option(args, i, command)
            options.extend(parsed)
        elif not command:
            command = token
        elif command == "pip":
            command = f"pip {token}"
        else:
            positionals.append(token)
        if token != NO_INTERACTION and not token.startswith(LEDGER):
            kept.extend(args[start : i + 1])
        i += 1
    return Invocation(
        command, tuple(options), tuple(positionals), rest, ledger, no_interaction, uv_argv=tuple(kept)
    )


def _value(args: list[str], i: int, name: str) -> tuple[str, int]:
    token = args[i]
    if "=" in token:
        value = token.partition("=")[2]
    elif i + 1 < len(args):
        value, i = args[i + 1], i + 1
    else:
        value = ""
    if not value:
        raise UsageError(f"{name} needs a value")
    return value, i


def _takes_value(name: str, command: str) -> bool:
    if name == "--script":
        return command != "run"
    if name == "--no-binary":
        return command == "pip compile"
    return name in _VALUE_LONG


def known(name: str, command: str) -> bool:
    """Whether the tables know `name` where it stands: before the command (or between `pip` and its
    command) only uv's global options, within a guarded command any of them."""
    if not command or command == "pip":
        return name in _GLOBAL_VALUE or name in _GLOBAL_FLAG
    return name in _VALUE_LONG or name in _FLAG_LONG


def _unknown(name: str, command: str) -> UsageError:
    where = f"uv {command}" if command and command != "pip" else "before the uv command"
    return UsageError(
        f"{name} is not an option pinwarden knows {where} (it may take a value pinwarden would misread); "
        "nothing was run"
    )


def _option(args: list[str], i: int, command: str) -> tuple[list[Option], int]:
    token = args[i]
    if token.startswith("--"):
        name, eq, inline = token.partition("=")
        if not known(name, command):
            raise _unknown(name, command)
        canonical = ALIASES.get(name, name)
        if eq:
            if not _takes_value(name, command):
                raise UsageError(f"{name} takes no value")
            if not inline:
                raise UsageError(f"{name} needs a value")
            return [Option(canonical, inline)], i
        if _takes_value(name, command):
            value, i = _value(args, i, name)
            return [Option(canonical, value)], i
        return [Option(canonical)], i
    shorts = {**_SHORT, **_SHORT_BY_COMMAND.get(command, {})}
    found: list[Option] = []
    for position, char in enumerate(token[1:], start=1):
        long = shorts.get(f"-{char}")
        if long is None or not known(long, command):
            raise _unknown(f"-{char}", command)
        name = long
        if _takes_value(name, command):
            tail = token[position + 1 :].removeprefix("=")
            if tail:
                found.append(Option(name, tail))
                return found, i
            value, i = _value(args, i, name)
            found.append(Option(name, value))
            return found, i
        found.append(Option(name))
    return found, i
