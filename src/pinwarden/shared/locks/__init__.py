"""Lock readers: one module per format, text in, locked releases out. No file I/O here."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ..errors import InputError, Problem
from ..model import LockFile

POETRY_LOCK = "poetry.lock"
UV_LOCK = "uv.lock"
# pip 26 reads `pip install -r pylock.toml` (and `pylock.NAME.toml`) as a PEP 751 lock, not as a
# requirements file: the rule of packaging.pylock.is_valid_pylock_path (packaging >= 25 only).
_PYLOCK = re.compile(r"pylock\.toml|pylock\.[^.]+\.toml")


def lock_format(path: str, data: str | bytes) -> str:
    """The reader for a lock file: the one its installer uses. Poetry reads only `poetry.lock`;
    `pip install -r` reads any other file as requirements. So another name is a Poetry lock only
    when pip refuses it on every machine (`pip_refuses`): pip installs nothing from it, and only
    Poetry could, once it is named poetry.lock. Anything pip might install from is read as pip reads
    it, so a TOML polyglot cannot show pinwarden one set of hashes and pip another. `data` is the
    file's bytes, or its text as pip decodes it."""
    name = PurePosixPath(path).name
    if name == POETRY_LOCK:
        return "poetry.lock"
    if name == UV_LOCK:  # uv reads only this name
        return "uv.lock"
    if _PYLOCK.fullmatch(name):
        problem = Problem("", "pip reads a file of this name as a PEP 751 lock, which pinwarden cannot read")
        raise InputError(path, "lock file", [problem])
    if name.endswith((".txt", ".in")):
        return "requirements"
    from .requirements import pip_refuses

    return "poetry.lock" if pip_refuses(data) else "requirements"


def is_poetry_lock(path: str, text: str) -> bool:
    return lock_format(path, text) == "poetry.lock"


def parse_lock(text: str, path: str) -> LockFile:
    """Parse a lock of either format from its text; raises InputError with every problem found."""
    # Imported here: a check of a poetry.lock need not pay for the requirements reader, and back.
    kind = lock_format(path, text)
    if kind == "uv.lock":
        from .uv_lock import parse_uv_lock

        return parse_uv_lock(text, path)
    if kind == "poetry.lock":
        from .poetry_lock import parse_poetry_lock

        return parse_poetry_lock(text, path)
    from .requirements import parse_requirements

    return parse_requirements(text, path)


def parse_lock_bytes(data: bytes, path: str, *, name: str | None = None) -> LockFile:
    """Parse a lock file's bytes as its installer does: Poetry decodes UTF-8 strictly (no BOM, no
    newline translation), pip as `decode_requirements` says. `name`: the file name the installer
    is given, when `path` (the label in messages) ends otherwise."""
    kind = lock_format(name or path, data)
    if kind == "uv.lock":
        from .uv_lock import parse_uv_lock

        return parse_uv_lock(_uv_text(data, path), path)
    if kind == "poetry.lock":
        from .poetry_lock import parse_poetry_lock

        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = Problem("", f"not UTF-8 ({exc.reason} at byte {exc.start}): Poetry cannot read it")
            raise InputError(path, "poetry.lock", [problem]) from None
        return parse_poetry_lock(text, path)
    from .requirements import parse_requirements_bytes

    return parse_requirements_bytes(data, path)


def _uv_text(data: bytes, path: str) -> str:
    """Strict UTF-8, no BOM skipped, no newline translation: as uv reads its lock."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem("", f"not UTF-8 ({exc.reason} at byte {exc.start}): uv cannot read it")
        raise InputError(path, "uv.lock", [problem]) from None


def __getattr__(name: str) -> object:
    """`from pinwarden.shared.locks import parse_poetry_lock` still works, loaded on demand."""
    if name == "parse_poetry_lock":
        from .poetry_lock import parse_poetry_lock

        return parse_poetry_lock
    if name == "parse_uv_lock":
        from .uv_lock import parse_uv_lock

        return parse_uv_lock
    if name == "parse_requirements":
        from .requirements import parse_requirements

        return parse_requirements
    raise AttributeError(name)
