"""Poetry entry points. Every `poetry` run imports this module, so it imports nothing of its own.

Two hooks, because each covers what the other cannot:
- `PinwardenPlugin` (poetry.application.plugin) adds `poetry pinwarden ...` and, through a COMMAND
  listener, guards the installer of every lock-writing command (also when a plugin command calls one).
- `PinwardenPoetryPlugin` (poetry.plugin) guards the locker of every project Poetry instance the
  factory builds, including one rebuilt by `reset_poetry()`. Poetry never runs it for `self` commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cleo.events.console_events import COMMAND
from poetry.plugins.application_plugin import ApplicationPlugin
from poetry.plugins.plugin import Plugin

if TYPE_CHECKING:
    from collections.abc import Callable

    from cleo.events.event import Event
    from cleo.events.event_dispatcher import EventDispatcher
    from cleo.io.io import IO
    from poetry.console.application import Application
    from poetry.console.commands.command import Command
    from poetry.poetry import Poetry

COMMAND_NAMES = ("check", "audit", "approve", "diff", "init", "show", "acknowledge")
# Poetry configures each command's installer in its own COMMAND listeners at priority 0; ours must
# run after them to guard that installer.
LISTENER_PRIORITY = -10


class PinwardenPlugin(ApplicationPlugin):
    def activate(self, application: Application) -> None:
        for name in COMMAND_NAMES:
            application.command_loader.register_factory(f"pinwarden {name}", _factory(name))
        # `poetry pinwarden` itself: cleo knows a namespace only as a prefix and calls it unknown.
        application.command_loader.register_factory("pinwarden", _namespace)
        dispatcher = application.event_dispatcher
        if dispatcher is not None:
            dispatcher.add_listener(COMMAND, _on_command, priority=LISTENER_PRIORITY)


class PinwardenPoetryPlugin(Plugin):
    def activate(self, poetry: Poetry, io: IO) -> None:
        from .guard import guard_poetry

        guard_poetry(poetry, io)


def _factory(name: str) -> Callable[[], Command]:
    def load() -> Command:
        from .commands import COMMANDS

        return COMMANDS[name]()

    return load


def _namespace() -> Command:
    from .commands import NamespaceCommand

    return NamespaceCommand()


def _on_command(event: Event, event_name: str, dispatcher: EventDispatcher) -> None:
    from .guard import on_command

    on_command(event)
