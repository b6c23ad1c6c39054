"""Every command's help says what it does, its defaults and its exit codes: `pinwarden COMMAND
--help`, `pinwarden pip-compile --help` and `poetry pinwarden COMMAND --help` (real Poetry).
`poetry pinwarden` lists its commands, and `poetry pinwarden diff` is `pinwarden diff`.

The walks take the commands from the parser and from Poetry's registry, so a command added later is
covered without an edit here.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import replace
from pathlib import Path

import pytest
from tests.support.guarded_project import poetry_tool
from tests.support.index import isolated_env, poetry_project
from tests.test_ledger import digest, release

from pinwarden.cli import build_parser, main
from pinwarden.poetry_plugin.commands import COMMANDS
from pinwarden.poetry_plugin.plugin import COMMAND_NAMES
from pinwarden.shared.ledger import Ledger, dumps
from pinwarden.shared.model import TrustHow
from pinwarden.shared.trust import record

PARSER = build_parser()
CLI_COMMANDS = {
    name: parser
    for action in PARSER._actions
    if isinstance(action, argparse._SubParsersAction)
    for name, parser in action.choices.items()
}
# Commands that have no `poetry pinwarden` twin, and why. Anything else the CLI has, Poetry has too.
CLI_ONLY = {
    "pip-compile": "pip-compile's wrapper; Poetry users have the plugin instead",
    "uv": "uv's guard; Poetry users have the plugin instead",
    "accept-first-use": "the dependency-bot gate: run in CI on the checkout, by pinwarden alone",
}


def exit_codes_of(text: str) -> set[str]:
    """The codes an `exit codes:` table lists (0 and 2 at least, for every command)."""
    parts = re.split(r"^\s*exit codes:", text, maxsplit=1, flags=re.IGNORECASE | re.MULTILINE)
    assert len(parts) == 2, f"no exit codes table in:\n{text}"
    table = parts[1].lstrip("\n").split("\n\n", 1)[0]
    # one row a line ("  0  fine"), or in a sentence ("exit codes: 0 recorded, 1 refused, 2 error")
    return set(re.findall(r"(?:^\s+|^|, )([0-2])\s+[a-z]", table.strip(), re.MULTILINE))


def defaulted(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """Options and optional arguments whose default is something: their help must name it."""
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        optional_positional = not action.option_strings and action.nargs in ("?", "*")
        meaningful = action.default not in (None, False, [], argparse.SUPPRESS)
        if optional_positional or meaningful:
            yield action


def cli_help(*argv: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# pinwarden


@pytest.mark.parametrize("name", sorted(set(CLI_COMMANDS) - {"pip-compile", "uv"}))
def test_every_cli_subcommand_help_says_what_defaults_and_exit_codes(name: str) -> None:
    parser = CLI_COMMANDS[name]
    text = cli_help(name)
    assert parser.description and len(parser.description.split()) >= 8, f"{name}: no description"
    assert " ".join(parser.description.split()[:4]) in " ".join(text.split())
    assert {"0", "2"} <= exit_codes_of(text)
    for action in defaulted(parser):
        assert action.help and "default" in action.help, f"{name} {action.dest}: help names no default"
        if action.default not in (None, [], False):
            assert str(action.default) in " ".join(text.split()), f"{name} {action.dest}: default not shown"


def test_top_level_help_lists_every_command_with_a_summary() -> None:
    text = cli_help()
    choices = next(a for a in PARSER._actions if isinstance(a, argparse._SubParsersAction))
    for choice in choices._choices_actions:
        assert choice.help, f"{choice.dest}: no summary in the command list"
        assert choice.dest in text
    assert {"0", "1", "2"} <= exit_codes_of(text)


def test_the_help_walk_covers_the_commands_of_the_old_code() -> None:
    """The walk is not vacuous: it sees at least what pinwarden had when it was written."""
    assert {"init", "check", "approve", "audit", "show", "diff", "pip-compile"} <= set(CLI_COMMANDS)


def test_pip_compile_help_is_pip_compiles_then_pinwardens(tmp_path: Path) -> None:
    pytest.importorskip("piptools")
    done = subprocess.run(
        [sys.executable, "-m", "pinwarden", "pip-compile", "--help"],
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "--generate-hashes" in text, "pip-compile's own options come first"
    ours = text.split("pinwarden pip-compile:", 1)[1]
    assert "ledger" in ours and "--audit" in ours and "--no-interaction" in ours
    assert "default: pinwarden-ledger.toml" in " ".join(ours.split())
    assert {"0", "1", "2"} <= exit_codes_of(ours)


# ---------------------------------------------------------------------------------------------
# poetry pinwarden


def poetry(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = isolated_env(cwd.parent / f"env-{cwd.name}")
    return subprocess.run(
        [poetry_tool(), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def registered(listing: str) -> list[str]:
    """The `pinwarden ...` commands `poetry list` shows (cleo's own listing, not ours)."""
    return sorted(set(re.findall(r"^\s+(pinwarden \S+)", listing, re.MULTILINE)))


@pytest.fixture(scope="module")
def poetry_commands(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    done = poetry(tmp_path_factory.mktemp("list"), "list", "--no-ansi")
    assert done.returncode == 0, done.stderr
    return registered(done.stdout)


@pytest.mark.e2e
def test_poetry_pinwarden_lists_its_commands_diff_included(
    tmp_path: Path, poetry_commands: list[str]
) -> None:
    assert "pinwarden diff" in poetry_commands
    for args in (["pinwarden"], ["pinwarden", "--help"]):
        done = poetry(tmp_path, *args, "--no-ansi")
        assert done.returncode == 0, f"poetry {' '.join(args)}: {done.stdout}{done.stderr}"
        assert "does not exist" not in done.stdout + done.stderr
        for name in poetry_commands:
            assert name in done.stdout, f"poetry {' '.join(args)} does not list {name}"
        assert {"0", "1", "2"} <= exit_codes_of(done.stdout)


@pytest.mark.e2e
def test_poetry_pinwarden_unknown_command_is_one_error_line(tmp_path: Path) -> None:
    done = poetry(tmp_path, "pinwarden", "chek", "--no-ansi")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "pinwarden: error: 'chek' is not a command (see 'poetry pinwarden')"
    ]


def test_every_poetry_pinwarden_command_help_says_what_defaults_and_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process (Poetry's Application, its plugins loaded from their entry points, as the
    `poetry` command does): every `pinwarden ...` command Poetry has, whoever registered it."""
    from cleo.testers.application_tester import ApplicationTester
    from poetry.console.application import Application

    for key, value in isolated_env(tmp_path).items():
        if key.startswith(("POETRY_", "XDG_")) or key == "HOME":
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    tester = ApplicationTester(Application())
    assert tester.execute("list --no-ansi") == 0
    names = registered(tester.io.fetch_output())
    assert len(names) >= 6, names
    for name in names:
        assert tester.execute(f"{name} --help --no-ansi") == 0, tester.io.fetch_error()
        text = tester.io.fetch_output()
        description = text.split("Description:\n", 1)[1].split("\n\n", 1)[0].strip()
        assert len(description.split()) >= 4, f"{name}: no description"
        help_text = text.split("\nHelp:\n", 1)[1] if "\nHelp:\n" in text else ""
        assert len(help_text.split()) >= 15, f"{name}: help says no more than its one-line description"
        assert {"0", "2"} <= exit_codes_of(help_text), name
        options = text.split("Options:\n", 1)[1].split("  -h, --help", 1)[0]
        twin = CLI_COMMANDS.get(name.split()[1])
        with_default = {o for a in defaulted(twin) for o in a.option_strings} if twin else set()
        for line in options.splitlines():
            found = re.match(r"\s+(?:-\w, )?(--[\w-]+)", line)
            if found and found.group(1) in with_default:
                assert "default" in line, f"{name}: {line.strip()} names no default"


def test_every_cli_command_has_its_poetry_twin() -> None:
    """`poetry pinwarden X` means `pinwarden X`: a CLI command without a twin is a gap in Poetry."""
    assert set(COMMAND_NAMES) == set(COMMANDS), "plugin.COMMAND_NAMES and commands.COMMANDS differ"
    missing = set(CLI_COMMANDS) - set(COMMANDS) - set(CLI_ONLY)
    assert not missing, f"no `poetry pinwarden` for {sorted(missing)}: add it to commands.py, or to CLI_ONLY"


# ---------------------------------------------------------------------------------------------
# poetry pinwarden diff == pinwarden diff

AT = "2026-11-25T00:00:00Z"
BASE = record(Ledger(), [release("demo", "1.0"), release("other", "2.0")], how=TrustHow.INIT, at=AT)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    poetry_project(path, "http://127.0.0.1:9/simple/", [])  # never asked: diff reads git only
    git(path, "init", "-q", "-b", "main")
    (path / "pinwarden-ledger.toml").write_text(dumps(BASE))
    git(path, "add", "-A")
    git(path, "commit", "-qm", "base")
    return path


def git(cwd: Path, *args: str) -> None:
    env = {
        **isolated_env(cwd.parent / "git-env"),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def both(repo: Path, *args: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """`pinwarden diff ARGS` and `poetry pinwarden diff ARGS` in the project: (code, stdout, stderr)."""
    standalone = subprocess.run(
        [sys.executable, "-m", "pinwarden", "diff", *args],
        cwd=repo,
        env=isolated_env(repo.parent / "env-cli"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    under_poetry = poetry(repo, "pinwarden", "diff", *args, "--no-ansi")
    return (
        (standalone.returncode, standalone.stdout, standalone.stderr),
        (under_poetry.returncode, under_poetry.stdout, under_poetry.stderr),
    )


@pytest.mark.e2e
def test_poetry_pinwarden_diff_is_pinwarden_diff(repo: Path) -> None:
    added = record(BASE, [release("fresh", "0.1")], how=TrustHow.FIRST_USE, at=AT)
    (repo / "pinwarden-ledger.toml").write_text(dumps(added))
    cli, plugin = both(repo)
    assert cli[0] == 0 and "fresh 0.1" in cli[1]
    assert plugin == cli

    demo = BASE.get("demo", "1.0")  # type: ignore[arg-type]
    assert demo is not None
    swapped = replace(demo.files[0], hashes=(digest("evil"),))
    tampered = BASE.with_releases([replace(demo, files=(swapped, *demo.files[1:]))])
    (repo / "pinwarden-ledger.toml").write_text(dumps(tampered))
    git(repo, "commit", "-qam", "tamper")
    cli, plugin = both(repo, "HEAD~1", "--format", "json")
    assert cli[0] == 1 and '"removes_trust": true' in cli[1]
    assert plugin == cli

    cli, plugin = both(repo, "no-such-revision")
    assert cli[0] == 2 and cli[2].startswith("pinwarden: error:")
    assert plugin == cli


@pytest.mark.parametrize("command", [["lock"], ["sync"], ["pip", "compile"]])
def test_uv_help_is_uvs_then_pinwardens(tmp_path: Path, command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pinwarden", "uv", *command, "--help"],
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--upgrade-package" in done.stdout, "uv's own options come first"
    ours = done.stdout.split("pinwarden uv:", 1)[1]
    assert "--no-interaction" in ours and "--pinwarden-ledger" in ours
    assert "default: pinwarden-ledger.toml" in " ".join(ours.split())
    assert {"0", "1", "2"} <= exit_codes_of(ours)
