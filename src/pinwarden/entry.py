"""The `pinwarden` command (and `python -m pinwarden`): cli.main, after one head start, or the uv guard.

`pinwarden pip-compile ...` starts pip-compile before pinwarden imports its core, so that the
imports overlap with pip-compile's run instead of adding to it (see piptools_ext/launch.py), and
ends without the interpreter's teardown of every module.

`pinwarden uv ...` goes straight to the uv guard, which imports only what its run needs: cli.py and
its imports would cost more than a no-op `uv sync`. It ends as cli.main does (ending.py).
"""

from __future__ import annotations

import gc
import sys

TYPE_CHECKING = False  # typing's import costs more than a no-op `uv sync` can spare
if TYPE_CHECKING:
    from typing import TextIO


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["uv"]:
        return _uv(argv[1:])
    if argv[:1] != ["pip-compile"]:
        from .cli import main as cli_main

        return cli_main(argv)
    from .piptools_ext import launch

    launch.start_early(argv[1:])
    gc.disable()  # imports allocate and free nothing: a collection would only take CPU from pip-compile
    try:
        from .cli import main as cli_main
    except BaseException as exc:  # pip-compile must not outlive the command, nor leave files behind
        launch.abandon_early()
        if not isinstance(exc, KeyboardInterrupt):
            raise
        sys.stderr.write("pinwarden: interrupted; nothing was written\n")  # as cli.main says it
        return 2
    finally:
        gc.enable()
    return launch.end_now(cli_main(argv))  # nothing of the command is left to run


# The commands whose guard asks `uv workspace dir` first (args.GUARDED, without importing args).
_ASKS_THE_ROOT = frozenset({"lock", "add", "remove", "sync", "run", "export", "tree"})


def _uv(argv: list[str]) -> int:
    from .uv_guard import early

    if _ASKS_THE_ROOT.intersection(argv):
        early.start(argv)  # uv answers while the guard is imported
    from .ending import ended

    def body(out: TextIO, err: TextIO) -> int:
        from .uv_guard.guard import main as uv_main

        return uv_main(argv, out, err)

    # A short run that frees next to nothing: a collection would only take time from uv's start.
    gc.disable()
    try:
        code = ended(body)
    finally:
        early.abandon()  # not asked for (an error, or a command uv runs unguarded)
    from .piptools_ext.launch import end_now  # uv has run: the teardown of every module is only cost

    end_now(code)
