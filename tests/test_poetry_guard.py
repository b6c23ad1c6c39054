"""The plugin's hooks into Poetry, in process: loading, the guarded locker, the install guard."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from cleo.events.console_command_event import ConsoleCommandEvent
from cleo.events.console_events import COMMAND
from cleo.io.buffered_io import BufferedIO
from cleo.testers.application_tester import ApplicationTester
from poetry.console.application import Application
from poetry.console.commands.command import Command
from poetry.console.commands.lock import LockCommand
from poetry.console.commands.self.lock import SelfLockCommand
from poetry.core.packages.package import Package
from poetry.factory import Factory
from poetry.poetry import Poetry
from tests.support.index import PackageIndex, build_wheel, isolated_env, poetry_project, unbound

from pinwarden.poetry_plugin.flow import Review
from pinwarden.poetry_plugin.guard import GuardedLocker, _cut, guard_poetry, on_command, release_of
from pinwarden.poetry_plugin.plugin import PinwardenPlugin, _on_command
from pinwarden.shared.decide import Decisions, Plan
from pinwarden.shared.model import FileHash, LockedFile, SourceKind

SHA_A = "sha256:" + "a" * 64
SHA_B = "sha256:" + "b" * 64


def test_loading_the_plugin_imports_nothing_of_pinwarden_but_itself() -> None:
    code = (
        "import sys, json\n"
        "from poetry.console.application import Application\n"
        "from pinwarden.poetry_plugin.plugin import PinwardenPlugin, PinwardenPoetryPlugin\n"
        "PinwardenPlugin().activate(Application())\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('pinwarden'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [
        "pinwarden",
        "pinwarden.poetry_plugin",
        "pinwarden.poetry_plugin.plugin",
    ]


def test_activation_registers_the_commands_and_a_late_listener() -> None:
    app = Application()
    PinwardenPlugin().activate(app)
    for name in ("check", "approve", "init", "show"):
        assert app.command_loader.has(f"pinwarden {name}")
        assert app.command_loader.get(f"pinwarden {name}").name == f"pinwarden {name}"
    dispatcher = app.event_dispatcher
    assert dispatcher is not None
    assert dispatcher.get_listener_priority(COMMAND, _on_command) == -10
    listeners = dispatcher.get_listeners(COMMAND)
    assert listeners.index(_on_command) > listeners.index(app.configure_installer_for_event)


@pytest.fixture
def poetry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Poetry:
    for key, value in isolated_env(tmp_path / "env").items():
        monkeypatch.setenv(key, value)
    poetry_project(tmp_path / "project", "http://127.0.0.1:9/simple/", ["demo"])
    return Factory().create_poetry(cwd=tmp_path / "project", disable_plugins=True)


def test_the_locker_instance_is_replaced_once_and_the_class_left_alone(poetry: Poetry) -> None:
    original = poetry.locker
    guard = guard_poetry(poetry, BufferedIO())
    assert isinstance(poetry.locker, GuardedLocker)
    assert poetry.locker.lock == original.lock
    assert guard_poetry(poetry, BufferedIO()) is guard
    assert type(original).set_lock_data is not GuardedLocker.set_lock_data


def test_the_lock_is_written_atomically_keeping_its_line_endings(poetry: Poetry) -> None:
    guard_poetry(poetry, BufferedIO())
    locker = poetry.locker
    assert isinstance(locker, GuardedLocker)
    locker.lock.write_bytes(b"# old\r\n")
    inode = locker.lock.stat().st_ino
    data = mock.Mock()
    data.as_string.return_value = "# new\nline\n"
    locker._write_lock_data(data)
    assert locker.lock.stat().st_ino != inode  # written beside and renamed over, never in place
    assert locker.lock.read_bytes() == b"# new\r\nline\r\n"


class Executor:
    def __init__(self) -> None:
        self.executed: list[list[object]] = []

    def execute(self, operations: list[object]) -> int:
        self.executed.append(operations)
        return 0


def test_an_installer_is_guarded_for_project_commands(poetry: Poetry) -> None:
    command = LockCommand()
    command.set_poetry(poetry)
    installer = mock.Mock()
    installer.executor = executor = Executor()
    command.set_installer(installer)
    on_command(ConsoleCommandEvent(command, BufferedIO()))
    assert isinstance(poetry.locker, GuardedLocker)
    installer.set_locker.assert_called_with(poetry.locker)
    assert "execute" in vars(executor)  # wrapped on this instance only

    installer.is_dry_run.return_value = True  # a dry run installs nothing: nothing to review
    assert executor.execute([]) == 0
    assert executor.executed == [[]]


def test_self_commands_are_left_alone() -> None:
    command = SelfLockCommand()
    installer = mock.Mock()
    command.set_installer(installer)
    on_command(ConsoleCommandEvent(command, BufferedIO()))
    assert installer.mock_calls == []


def test_a_package_is_reviewed_as_the_lock_would_pin_it() -> None:
    package = Package(
        "Demo.Pkg", "1.0.0", source_type="legacy", source_url="https://x/simple", source_reference="x"
    )
    package.files = [{"file": "demo_pkg-1.0.0.tar.gz", "hash": SHA_A}]
    release = release_of(package)
    assert (release.name, release.version, release.source_kind) == ("demo-pkg", "1", SourceKind.INDEX)
    assert release.source_url == "https://x/simple"
    assert release.files == (LockedFile("demo_pkg-1.0.0.tar.gz", FileHash.parse(SHA_A)),)

    pypi = release_of(Package("demo", "2.0"))
    assert pypi.source_url == "https://pypi.org/simple/"

    git = Package(
        "demo", "3.0", source_type="git", source_url="https://g/r.git", source_resolved_reference="abc123"
    )
    assert release_of(git).source_identity == "git+https://g/r.git@abc123"


def test_a_rejected_version_keeps_only_trusted_files_for_the_lock_and_the_installer() -> None:
    package = Package("demo", "1.0")
    package.files = [
        {"file": "demo-1.0-py3-none-any.whl", "hash": SHA_A, "url": "https://x/a"},
        {"file": "demo-1.0-1-py3-none-any.whl", "hash": SHA_B, "url": "https://x/b"},
    ]
    kept = release_of(package)
    kept = type(kept)(**{**{f: getattr(kept, f) for f in kept.__slots__}, "files": kept.files[:1]})
    review = Review(
        (), Plan((), ()), Decisions(frozenset(), frozenset(), aborted=False), kept={kept.key: kept}
    )
    _cut([package], review)
    assert [f["file"] for f in package.files] == ["demo-1.0-py3-none-any.whl"]


class RelockCommand(Command):
    """What plugins such as poetry-plugin-up do: a command of their own that calls `lock`."""

    name = "relock"

    def handle(self) -> int:
        return self.call("lock")


@pytest.mark.e2e
def test_a_plugin_command_calling_lock_is_guarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, poetry: Poetry
) -> None:
    index = PackageIndex()
    index.add("pwguard-nested", "1.0", *build_wheel("pwguard-nested", "1.0"))
    project = tmp_path / "nested"
    with index.serve():
        poetry_project(project, index.url, ["pwguard-nested"])
        monkeypatch.chdir(project)

        def run(command: str) -> ApplicationTester:
            app = Application()
            app.add(RelockCommand())
            tester = ApplicationTester(app)
            tester.execute(command, interactive=False)
            return tester

        first = run("relock --no-cache")
        assert first.status_code == 0, first.io.fetch_error()
        lock = (project / "poetry.lock").read_bytes()
        assert (project / "pinwarden-ledger.toml").is_file()

        index.add("pwguard-nested", "1.0", *build_wheel("pwguard-nested", "1.0", build_tag=1))
        tester = run("relock --no-cache")
    assert tester.status_code == 1
    last = tester.io.fetch_error().rstrip().splitlines()[-1]
    assert unbound(last) == "poetry pinwarden approve --from-index pwguard-nested==1"
    assert (project / "poetry.lock").read_bytes() == lock
