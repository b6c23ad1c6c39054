"""`uv workspace dir`, started by entry.py before pinwarden's imports, so that uv answers while
Python imports the guard (which costs more than the answer).

A guess from a rough reading of the command line: its answer is used only when the command the
guard then asks for (after its full argument reading) is exactly the one started, in the same
directory with the same environment; otherwise it is ended and the guard asks uv itself. Only `os`
and `sys` here: anything more would delay the start it exists for.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_PLACES = ("--directory", "--project")
# At most one: words, directory, environment, the child's pid, its stdout and stderr.
_started: list[tuple[tuple[str, ...], str, dict[str, str], int, int, int]] = []


def start(argv: Sequence[str]) -> None:
    """Start `uv workspace dir` with the places this command line seems to name; never fails."""
    # os.path, not pathlib: its import is what this head start saves.
    uv = os.path.join(os.path.dirname(sys.executable), "uv")  # noqa: PTH118, PTH120 (find_uv's first)
    if _started or not (os.path.isfile(uv) and os.access(uv, os.X_OK)):  # noqa: PTH113
        return
    words = (uv, "workspace", "dir", *_places(argv, os.environ))
    try:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
    except OSError:
        return
    try:
        pid = os.posix_spawn(
            uv,
            words,
            os.environ,
            file_actions=[(os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)],
        )
    except OSError:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        return
    os.close(out_w)
    os.close(err_w)
    _started.append((words, os.getcwd(), dict(os.environ), pid, out_r, err_r))  # noqa: PTH109


def _places(argv: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """As stage.locate names them: the last --directory and --project, else UV_WORKING_DIR and
    UV_PROJECT (a wrong guess costs only the head start)."""
    found: dict[str, str] = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            break
        name, eq, value = word.partition("=")
        if name in _PLACES:
            if not eq:
                if i + 1 >= len(argv):
                    break
                value = argv[i + 1]
                i += 1
            found[name] = value
        i += 1
    directory = found.get("--directory") or environ.get("UV_WORKING_DIR") or None
    project = found.get("--project") or environ.get("UV_PROJECT") or None
    places = ["--directory", directory] if directory else []
    places += ["--project", project] if project else []
    return places


def take(words: Sequence[str], cwd: str, env: Mapping[str, str]) -> tuple[int, str, str] | None:
    """The started run's exit code, stdout and stderr if it ran exactly `words` in `cwd` with
    `env`; else None (and it is ended)."""
    if not _started:
        return None
    was_words, was_cwd, was_env, pid, out_r, err_r = _started.pop()
    same = tuple(words) == was_words and cwd == was_cwd and dict(env) == was_env
    if not same:
        import contextlib

        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)  # SIGKILL; a child not yet waited for is there to kill
    try:
        out, err = _read_both(out_r, err_r)
    finally:
        os.close(out_r)
        os.close(err_r)
        _, status = os.waitpid(pid, 0)
    if not same:
        return None
    try:
        return os.waitstatus_to_exitcode(status), out.decode(), err.decode()
    except UnicodeDecodeError:
        return None  # asked again, as subprocess would read it


def abandon() -> None:
    """End the started run, if any (the command ended before asking for it)."""
    take((), "", {})


def _read_both(out_r: int, err_r: int) -> tuple[bytes, bytes]:
    import selectors

    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select():
                data = os.read(key.fd, 65536)
                if data:
                    chunks[key.fd].append(data)
                else:
                    selector.unregister(key.fd)
    return b"".join(chunks[out_r]), b"".join(chunks[err_r])
