"""How `pinwarden uv` reads a uv command line (args.py), the staging copy (stage.py) and the cut of a
rejected version (lockedit.py); the option tables against the installed uv's own help."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from tests.support.index import find_tool

from pinwarden.shared.errors import PinwardenError
from pinwarden.shared.model import FileHash, NormalizedName
from pinwarden.uv_guard import args as uv_args
from pinwarden.uv_guard.args import LOCK_OPTIONS, SYNC_OPTIONS, Option, UsageError, parse
from pinwarden.uv_guard.lockedit import keep_files
from pinwarden.uv_guard.stage import locate, staging

UV = find_tool("uv")


def test_options_values_and_clusters() -> None:
    inv = parse(["-q", "sync", "-UPfoo", "--upgrade-package=bar", "-P", "baz", "--frozen"])
    assert inv.command == "sync"
    assert inv.options == (
        Option("--quiet"),
        Option("--upgrade"),
        Option("--upgrade-package", "foo"),
        Option("--upgrade-package", "bar"),
        Option("--upgrade-package", "baz"),
        Option("--frozen"),
    )
    assert inv.values("--upgrade-package") == ["foo", "bar", "baz"]


def test_uv_run_leaves_the_program_its_arguments() -> None:
    inv = parse(["run", "--no-interaction", "-p", "3.11", "python", "-U", "--locked", "x"])
    assert inv.command == "run"
    assert inv.options == (Option("--python", "3.11"),)
    assert inv.rest == ("python", "-U", "--locked", "x")
    assert inv.no_interaction
    assert inv.uv_argv == ("run", "-p", "3.11", "python", "-U", "--locked", "x")
    # -m is a flag of run (a module), the marker of add.
    assert parse(["run", "-m", "http.server"]).rest == ("http.server",)
    assert parse(["add", "-m", "python_version>'3'", "x"]).positionals == ("x",)


def test_pinwarden_options_are_taken_out_anywhere_before_the_program() -> None:
    inv = parse(["--pinwarden-ledger", "l.toml", "lock", "--pinwarden-ledger=m.toml", "-U"])
    assert inv.ledger == "m.toml"
    assert inv.uv_argv == ("lock", "-U")
    with pytest.raises(UsageError, match="--pinwarden-ledger needs a value"):
        parse(["lock", "--pinwarden-ledger"])
    with pytest.raises(UsageError, match="--upgrade-package needs a value"):
        parse(["lock", "-P"])


def test_pip_compile_and_its_output() -> None:
    inv = parse(["pip", "compile", "req.in", "-oout.txt", "--no-binary", ":all:", "--", "-weird.in"])
    assert inv.command == "pip compile"
    assert inv.last("--output-file") == "out.txt"
    assert inv.positionals == ("req.in", "-weird.in")


def _help_options(command: str) -> tuple[set[str], set[str]]:
    """(every long option, those taking a value) as `uv COMMAND --help` lists them."""
    assert UV is not None
    text = subprocess.run([UV, *command.split(), "--help"], capture_output=True, text=True, check=True).stdout
    names: set[str] = set()
    valued: set[str] = set()
    for line in text.splitlines():
        found = re.match(r"^\s+(?:-\w, )?(--[\w-]+)( <)?", line)
        if found:
            names.add(found.group(1))
            if found.group(2):
                valued.add(found.group(1))
    return names, valued


COMMANDS = ["lock", "sync", "run", "export", "tree", "add", "remove", "pip compile"]


@pytest.mark.skipif(UV is None, reason="uv is not installed beside this Python")
@pytest.mark.parametrize("command", COMMANDS)
def test_the_value_table_is_the_installed_uvs(command: str) -> None:
    names, valued = _help_options(command)
    for name in names:
        assert uv_args.known(name, command), name
        assert uv_args._takes_value(name, command) == (name in valued), name


def _accepts(command: str, name: str, tmp_path: Path) -> str | None:
    """How the installed uv takes `--name=x` after `command` (clap's own error says): "flag",
    "value", or None (unknown). Run in an empty directory, offline: it writes nothing."""
    assert UV is not None
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "UV_NO_CONFIG": "1", "UV_OFFLINE": "1",
           "UV_CACHE_DIR": str(tmp_path / "cache"), "UV_PYTHON_DOWNLOADS": "never"}  # fmt: skip
    words = [UV, name + "=x", "lock"] if not command else [UV, *command.split(), name + "=x"]
    err = subprocess.run(
        words, cwd=tmp_path, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    ).stderr
    if f"unexpected argument '{name}'" in err:
        return None
    return "flag" if re.search(r"unexpected value 'x' for '--", err) else "value"


@pytest.mark.skipif(UV is None, reason="uv is not installed beside this Python")
def test_every_option_in_the_tables_is_taken_by_uv_as_the_tables_say(tmp_path: Path) -> None:
    """Hidden options and aliases included (clap `hide = true`): what help does not list is asked of
    uv itself, command by command until one takes it."""
    shown = set().union(*(_help_options(c)[0] for c in COMMANDS))
    for name in sorted((uv_args._VALUE_LONG | uv_args._FLAG_LONG) - shown - {"--script", "--no-binary"}):
        kinds = {c: _accepts(c, name, tmp_path) for c in COMMANDS}
        taken = {k for k in kinds.values() if k is not None}
        assert taken, f"{name}: no guarded uv command takes it"
        assert taken == {"value" if name in uv_args._VALUE_LONG else "flag"}, (name, kinds)
    for name in sorted(uv_args._GLOBAL_VALUE | uv_args._GLOBAL_FLAG):
        if name not in ("--help", "--version"):
            assert _accepts("", name, tmp_path) is not None, name


@pytest.mark.skipif(UV is None, reason="uv is not installed beside this Python")
def test_lock_and_sync_options_are_what_uv_lock_and_uv_sync_accept(tmp_path: Path) -> None:
    lock, _ = _help_options("lock")
    not_passed = {"--check", "--check-exists", "--dry-run", "--help", "--project", "--directory", "--script"}
    assert lock - not_passed <= LOCK_OPTIONS
    for name in sorted(LOCK_OPTIONS - lock):  # hidden ones: uv lock takes them
        assert _accepts("lock", name, tmp_path) is not None, name
    for name in sorted(SYNC_OPTIONS):
        assert _accepts("sync", name, tmp_path) is not None, name


@pytest.mark.skipif(UV is None, reason="uv is not installed beside this Python")
def test_locate_finds_the_workspace_root_of_a_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "ws"
    (root / "packages" / "a").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "ws"\nversion = "0.1"\n\n[tool.uv.workspace]\nmembers = ["packages/*"]\n'
    )
    (root / "packages" / "a" / "pyproject.toml").write_text('[project]\nname = "a"\nversion = "0.1"\n')
    monkeypatch.chdir(root / "packages" / "a")
    assert UV is not None
    env = {"PATH": "/usr/bin:/bin", "UV_NO_CONFIG": "1"}
    place = locate(UV, None, None, env)
    assert place.root == root.resolve() and place.project == (root / "packages" / "a").resolve()
    assert place.lock == root.resolve() / "uv.lock"
    # An excluded member is a project of its own.
    (root / "pyproject.toml").write_text(
        '[project]\nname = "ws"\nversion = "0.1"\n\n'
        '[tool.uv.workspace]\nmembers = ["packages/*"]\nexclude = ["packages/a"]\n'
    )
    assert locate(UV, None, None, env).root == (root / "packages" / "a").resolve()
    monkeypatch.chdir(tmp_path)
    assert locate(UV, None, "ws/packages/a", env).root == (root / "packages" / "a").resolve()
    with pytest.raises(PinwardenError, match=r"no pyproject\.toml"):
        locate(UV, None, None, env)


def test_the_staging_copy_sits_beside_the_root_without_git_venvs_or_caches(tmp_path: Path) -> None:
    root = tmp_path / "project"
    for directory in (".git/objects", ".venv", "node_modules/x", "src/pkg/__pycache__", "cache"):
        (root / directory).mkdir(parents=True)
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr\n")
    (root / "cache" / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    (root / "pyproject.toml").write_text("[project]\n")
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "link").symlink_to("../elsewhere")
    with staging(root) as copy:
        assert copy.parent == tmp_path and copy.name.startswith(".pinwarden-uv-")
        kept = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*"))
        assert kept == ["link", "pyproject.toml", "src", "src/pkg", "src/pkg/__init__.py"]
        assert (copy / "link").readlink() == Path("../elsewhere")
    assert not copy.exists()


def test_a_staging_copy_that_cannot_be_made_is_one_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root may write anywhere, so the failures are made: no directory beside the root, no copy."""
    import shutil
    import tempfile

    root = tmp_path / "project"
    root.mkdir()

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "mkdtemp", refuse)
        with (
            pytest.raises(
                PinwardenError,
                match=f"cannot create a staging copy of {root} in {tmp_path}: Permission denied",
            ),
            staging(root),
        ):
            pass
    monkeypatch.setattr(shutil, "copytree", refuse)
    with (
        pytest.raises(PinwardenError, match=r"cannot copy .* to a staging copy in .*: Permission denied"),
        staging(root),
    ):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


S, W, T = "1" * 64, "2" * 64, "3" * 64
TAGGED_LINE = (
    f'    {{ url = "https://example.org/a-1.0-1-py3-none-any.whl", hash = "sha256:{T}", size = 1 }},\n'
)
LOCK = f"""\
version = 1
revision = 3

[[package]]
name = "Alpha"
version = "1.0.0"
source = {{ registry = "https://example.org/simple" }}
sdist = {{ url = "https://example.org/a-1.0.tar.gz", hash = "sha256:{S}", size = 1 }}
wheels = [
    {{ url = "https://example.org/a-1.0-py3-none-any.whl", hash = "sha256:{W}", size = 1 }},
    {{ url = "https://example.org/a-1.0-1-py3-none-any.whl", hash = "sha256:{T}", size = 1 }},
]

[[package]]
name = "beta"
version = "2.0"
source = {{ registry = "https://example.org/simple" }}
wheels = [
    {{ url = "https://example.org/b-2.0-1-py3-none-any.whl", hash = "sha256:{T}", size = 1 }},
]
"""


def test_a_rejected_version_keeps_only_its_trusted_files_every_other_byte_as_uv_wrote_it() -> None:
    kept = {(NormalizedName("alpha"), "1"): {FileHash("sha256", S), FileHash("sha256", W)}}
    cut = keep_files(LOCK, kept)
    assert cut == LOCK.replace(TAGGED_LINE, "")
    assert f'b-2.0-1-py3-none-any.whl", hash = "sha256:{T}"' in cut  # another package: untouched


def test_a_lock_laid_out_otherwise_is_not_guessed_at() -> None:
    one_line = LOCK.replace("wheels = [\n    {", "wheels = [{").replace("},\n    {", "}, {", 1)
    with pytest.raises(PinwardenError, match="reject is impossible here"):
        keep_files(one_line, {(NormalizedName("alpha"), "1"): {FileHash("sha256", S)}})
