"""The `pinwarden` command (and `python -m pinwarden`): cli.main, after one head start.

`pinwarden pip-compile ...` starts pip-compile before pinwarden imports its core, so that the
imports overlap with pip-compile's run instead of adding to it (see piptools_ext/launch.py), and
ends without the interpreter's teardown of every module.
"""

from __future__ import annotations

import gc
import sys


def main() -> int:
    argv = sys.argv[1:]
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
