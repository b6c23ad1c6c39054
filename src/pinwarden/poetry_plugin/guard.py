"""The one module that reaches into Poetry's internals (checked against Poetry 2.5).

- `GuardedLocker` replaces a project's `Locker` *instance* (`poetry.set_locker` and
  `installer.set_locker`), never the class: `self` commands, isolated build environments and the
  plugin manager build lockers of their own and stay untouched. Its `set_lock_data` reviews the new
  lock data before poetry.lock is written, and its `_write_lock_data` writes atomically.
- `add`, `update` and `remove` install before they write the lock, so the installer's
  `executor.execute` is wrapped to review the packages it is about to put into the environment.
- Poetry's `Executor._download_link` builds a downloaded sdist (its code runs) before it checks the
  archive's hash, so it is wrapped to check the archive against the lock first (checked against
  Poetry 2.1 and 2.5, whose `_download_link` is the same), and the executor's cache answers every
  lookup with that checked archive only; an executor without the internals this needs installs
  nothing.

pinwarden's own modules are imported inside functions: this module loads on every Poetry command.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from poetry.packages.locker import Locker

if TYPE_CHECKING:
    from pathlib import Path

    from cleo.events.event import Event
    from cleo.io.io import IO
    from poetry.core.packages.package import Package
    from poetry.core.packages.utils.link import Link
    from poetry.installation.installer import Installer
    from poetry.installation.operations.install import Install
    from poetry.installation.operations.operation import Operation
    from poetry.installation.operations.update import Update
    from poetry.packages.transitive_package_info import TransitivePackageInfo
    from poetry.poetry import Poetry
    from tomlkit.toml_document import TOMLDocument

    from ..shared.ledger import Key
    from ..shared.model import LockedRelease
    from .flow import Hooks, Review, Warden

_MARK = "_pinwarden_guard"
# What `_guard_downloads` reaches into (Poetry's `Executor._download_link` and what it uses).
_DOWNLOAD_INTERNALS = ("_download_link", "_artifact_cache", "_download_archive", "_env")


class PoetryGuard:
    """One project Poetry instance: its warden (created on first need), IO and repository pool."""

    def __init__(self, poetry: Poetry, io: IO) -> None:
        self.poetry = poetry
        self.io = io
        self._warden: Warden | None = None

    @property
    def warden(self) -> Warden:
        if self._warden is None:
            from .flow import Warden

            self._warden = Warden(self.poetry.pyproject_path.parent, self.poetry.locker.lock)
        return self._warden

    def adopt(self) -> None:
        """Nothing to write. Still, a malformed ledger or setting stops the command (fail closed), and
        a project's first run creates its ledger from the lock. The common unchanged `poetry lock`
        reads settings and ledger without loading the review (compare, decide, render)."""
        from ..shared.store import LedgerStore, ledger_path, load_settings

        with _as_poetry_errors():
            settings, base = load_settings(self.poetry.pyproject_path.parent)
            store = LedgerStore(ledger_path(None, settings, base, [self.poetry.locker.lock]))
            if store.path.is_file():
                store.load()
                return
            if self.warden.adopt():
                path = self.warden.store.path
                self._hooks([]).say(f"pinwarden: trusted poetry.lock as it is; created {path}")

    def validate(self) -> None:
        """Settings and ledger are read and checked: a command that reviews nothing still fails closed."""
        with _as_poetry_errors():
            self.warden.validate()

    def review_lock(self, text: str, packages: Iterable[Package]) -> Review:
        from ..shared.locks.poetry_lock import parse_poetry_lock
        from .flow import LOCK_LABEL

        packages = list(packages)
        with _as_poetry_errors():
            releases = parse_poetry_lock(text, LOCK_LABEL).releases
            review = self.warden.review(releases, self._hooks(packages), writes=True)
        _cut(packages, review)
        return review

    def review_install(self, packages: list[Package], *, writes: bool) -> None:
        with _as_poetry_errors():
            releases = [release_of(p, self.poetry.locker.lock.parent) for p in packages]
            review = self.warden.review(releases, self._hooks(packages), writes=writes)
        _cut(packages, review)

    def review_builds(self, packages: list[Package], chosen: Callable[[Package], str | None]) -> None:
        """Name every version this install builds from source (its build backend is pinned by no
        lock); with `sdist-installs = "refuse"`, install none of them."""
        from ..shared.decide import built_from_source
        from ..shared.model import SourceKind
        from ..shared.render import builds_text
        from .flow import BuildsRefused

        with _as_poetry_errors():
            builds = []
            for package in packages:
                release = release_of(package, self.poetry.locker.lock.parent)
                filename = chosen(package) if release.source_kind is SourceKind.INDEX else None
                how = built_from_source(release) if filename is None else _built_from(filename)
                if how is not None:
                    builds.append((release.name, release.version, how))
            refuse = self.warden.sdist_installs == "refuse"
            text = builds_text(builds, refused=refuse)
            if text and refuse:
                raise BuildsRefused(text)
            if text:
                self._hooks([]).say(text)

    def verify_download(self, executor: Any, operation: Install | Update, link: Link) -> None:
        """Fetch the archive as `Executor._download_link` does, into Poetry's artifact cache, and
        refuse it unless the lock pins its name and bytes; the original then finds it cached. A
        refused archive is removed from the cache: nothing may pick it up later."""
        from ..shared.archives import ArchiveRefused, verify_archive
        from ..shared.model import normalize_name

        package = operation.package
        cache = executor._artifact_cache
        download = partial(executor._download_archive, operation)
        with _as_poetry_errors():
            name, version = normalize_name(package.name), package.pretty_version
            pinned = _pinned_files(package)
            original = cache.get_cached_archive_for_link(link, strict=True, download_func=download)
            try:
                verify_archive(original, name, version, pinned)
            except ArchiveRefused as refused:
                original.unlink(missing_ok=True)
                raise ArchiveRefused(f"{refused}; Poetry neither builds nor installs it") from None

    def verify_local_files(self, packages: Iterable[Package]) -> None:
        """A `file` source is installed from its path, not through `_download_link`, and Poetry 2.1
        checks its hash only when the lock lists its name: the file is checked here first."""
        from pathlib import Path

        from ..shared.archives import verify_archive
        from ..shared.model import normalize_name

        with _as_poetry_errors():
            for package in packages:
                path = Path(package.source_url or "")
                if package.source_type == "file" and path.is_file():  # a missing file: Poetry says so
                    verify_archive(
                        path, normalize_name(package.name), package.pretty_version, _pinned_files(package)
                    )

    def commit(self, review: Review, packages: Iterable[Package], write_lock: Callable[[], None]) -> None:
        with _as_poetry_errors():
            self.warden.commit(review, self._hooks(list(packages)), write_lock)

    def _hooks(self, packages: list[Package]) -> Hooks:
        from .index import SourceFiles
        from .prompt import hooks_for

        files = SourceFiles(self.poetry.pool, packages)
        return hooks_for(self.io, files.digest, files.yanked, files.index_files)


class GuardedLocker(Locker):
    """Poetry's locker, reviewing before it writes and writing atomically."""

    def __init__(self, lock: Path, pyproject_data: dict[str, Any], guard: PoetryGuard) -> None:
        super().__init__(lock, pyproject_data)
        self.guard = guard

    def set_lock_data(self, root: Package, packages: dict[Package, TransitivePackageInfo]) -> bool:
        data = self._compute_lock_data(root, packages)
        if not self._should_write(data):
            self.guard.adopt()
            return False
        review = self.guard.review_lock(data.as_string(), packages)
        if review.kept:  # rejected versions lost their untrusted files: lock what is left
            data = self._compute_lock_data(root, packages)
        changed = self._should_write(data)
        self.guard.commit(review, packages, lambda: self._write_lock_data(data) if changed else None)
        return changed

    def _write_lock_data(self, data: TOMLDocument) -> None:
        from ..shared.store import atomic_write

        atomic_write(self.lock, _keep_line_endings(data.as_string(), self.lock))
        self._lock_data = None


def guard_poetry(poetry: Poetry, io: IO) -> PoetryGuard:
    """Give a project's Poetry instance a guarded locker (once); returns its guard."""
    from cleo.io.null_io import NullIO

    locker = poetry.locker
    if isinstance(locker, GuardedLocker):
        # The first IO is the outermost command's: a nested `self.call("lock")` gets a fresh input
        # that cleo calls interactive but nobody can type into.
        if isinstance(locker.guard.io, NullIO):
            locker.guard.io = io
        return locker.guard
    guard = PoetryGuard(poetry, io)
    poetry.set_locker(GuardedLocker(locker.lock, locker._pyproject_data, guard))
    return guard


def on_command(event: Event) -> None:
    """COMMAND listener: guard the installer of every project command that has one."""
    from cleo.events.console_command_event import ConsoleCommandEvent
    from poetry.console.commands.installer_command import InstallerCommand
    from poetry.console.commands.self.self_command import SelfCommand

    if not isinstance(event, ConsoleCommandEvent):
        return
    command = event.command
    if not isinstance(command, InstallerCommand) or isinstance(command, SelfCommand):
        return
    if command._installer is None:  # Poetry's own listener did not configure one: nothing to guard
        return
    guard = guard_poetry(command.poetry, event.io)
    guard_installer(command.installer, guard)


def guard_installer(installer: Installer, guard: PoetryGuard) -> None:
    """Use the guarded locker, and review what the executor installs before it installs it."""
    installer.set_locker(guard.poetry.locker)
    executor = installer.executor
    already = hasattr(executor, _MARK)
    setattr(executor, _MARK, guard)
    if already:
        return
    execute = executor.execute

    def guarded_execute(operations: list[Operation]) -> int:
        guard: PoetryGuard = getattr(executor, _MARK)
        if installer.is_dry_run():
            guard.validate()
            return execute(operations)
        _missing_internals(executor)
        packages = [op.package for op in operations if op.job_type != "uninstall"]
        # Updating (add, update, remove, install without a lock) will write the lock; a plain
        # install from the lock may only refuse.
        guard.review_install(packages, writes=installer.is_updating())
        installs = [op.package for op in operations if op.job_type != "uninstall" and not op.skipped]
        guard.review_builds(installs, partial(_chosen_file, executor))
        guard.verify_local_files(installs)
        return execute(operations)

    executor.execute = guarded_execute  # type: ignore[method-assign]
    _guard_downloads(executor)


def _guard_downloads(executor: Any) -> None:
    """Check every archive before `Executor._download_link` may build it (see the module's doc)."""
    download_link = getattr(executor, "_download_link", None)
    cache = getattr(executor, "_artifact_cache", None)
    if download_link is None or cache is None:  # guarded_execute refuses to install with this executor
        return

    def guarded_download_link(operation: Install | Update, link: Link) -> Path:
        guard: PoetryGuard = getattr(executor, _MARK)
        guard.verify_download(executor, operation, link)
        path: Path = download_link(operation, link)
        return path

    executor._download_link = guarded_download_link
    executor._artifact_cache = LinkedArchiveOnly(cache)


class LinkedArchiveOnly:
    """Poetry's artifact cache as the executor sees it: a link's archive is the file the link names
    (Poetry's strict lookup), never another file in the link's cache directory. Poetry otherwise
    installs the best-ranked wheel there, which nothing checked: one another download left in the
    same directory (a page may give two files one URL; a direct URL's download is cached by URL),
    or one Poetry built earlier. The cost: an sdist is built again on every install."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)

    def get_cached_archive_for_link(
        self, link: Link, *, strict: bool, env: Any = None, download_func: Any = None
    ) -> Path | None:
        found: Path | None = self._cache.get_cached_archive_for_link(
            link, strict=True, env=env, download_func=download_func
        )
        return found


def _missing_internals(executor: object) -> None:
    """Fail closed: a Poetry whose executor moved what `_guard_downloads` needs would build archives
    unchecked, so the guarded install stops instead."""
    from ..shared.errors import PinwardenError

    missing = [name for name in _DOWNLOAD_INTERNALS if not hasattr(executor, name)]
    cache = getattr(executor, "_artifact_cache", None)
    if isinstance(cache, LinkedArchiveOnly):
        cache = cache._cache
    if cache is not None and not hasattr(cache, "get_cached_archive_for_link"):
        missing.append("_artifact_cache.get_cached_archive_for_link")
    if missing:
        with _as_poetry_errors():
            raise PinwardenError(
                f"this Poetry's installer has no {', '.join(missing)}: pinwarden cannot check archives "
                "before Poetry builds them, so nothing was installed (supported: Poetry 2.1 to 2.5)"
            )


def _pinned_files(package: Package) -> dict[str, set[str]]:
    """The lock's files for a package (`Locker._dump_package`'s `{file, hash}`), by filename."""
    pinned: dict[str, set[str]] = {}
    for entry in package.files:
        filename, digest = entry.get("file"), entry.get("hash")
        if isinstance(filename, str) and isinstance(digest, str):
            pinned.setdefault(filename, set()).add(digest)
    return pinned


def _chosen_file(executor: object, package: Package) -> str | None:
    """The file Poetry's own Chooser will install (as the executor asks it), None when it cannot tell:
    the lock's files decide then."""
    chooser = getattr(executor, "_chooser", None)
    if chooser is None:
        return None
    try:
        link = chooser.choose_for(package)
    except Exception:  # no installable link, an unreachable index: the executor reports it itself
        return None
    filename = getattr(link, "filename", None)
    return filename if isinstance(filename, str) else None


def _built_from(filename: str) -> str | None:
    return None if filename.lower().endswith(".whl") else f"built from its sdist {filename}"


def release_of(package: Package, lock_dir: Path | None = None) -> LockedRelease:
    """A package as poetry.lock would pin it (`Locker._dump_package`), for the review: a local path
    relative to the lock's directory (`lock_dir`), as the lock writes it and the ledger records it."""
    from ..shared.locks.poetry_lock import PYPI_SIMPLE
    from ..shared.model import FileHash, LockedFile, LockedRelease, SourceKind, normalize_name
    from .flow import LOCK_LABEL

    source_type = package.source_type or "legacy"
    kind = {
        "git": SourceKind.GIT,
        "url": SourceKind.URL,
        "file": SourceKind.FILE,
        "directory": SourceKind.DIRECTORY,
    }.get(source_type, SourceKind.INDEX)
    reference = package.source_resolved_reference or package.source_reference
    return LockedRelease(
        name=normalize_name(package.name),
        version=package.pretty_version,
        files=tuple(LockedFile(f["file"], FileHash.parse(f["hash"])) for f in package.files),
        lockfile=LOCK_LABEL,
        source_kind=kind,
        source_url=_lock_url(package, lock_dir) if package.source_type else PYPI_SIMPLE,
        source_reference=reference,
    )


def _lock_url(package: Package, lock_dir: Path | None) -> str | None:
    """As `Locker._dump_package` writes a file or directory source: relative to the lock, resolved."""
    import os
    from pathlib import Path

    url = package.source_url
    if url is None or lock_dir is None or package.source_type not in ("file", "directory"):
        return url
    return Path(os.path.relpath(Path(url).resolve(), lock_dir.resolve())).as_posix()


def _cut(packages: Iterable[Package], review: Review) -> None:
    """Rejected versions keep only their trusted files: in the lock, and for the installer's Chooser."""
    if not review.kept:
        return
    from ..shared.model import FileHash, canonical_version, normalize_name

    for package in packages:
        key: Key = (normalize_name(package.name), canonical_version(package.pretty_version))
        kept = review.kept.get(key)
        if kept is not None:
            allowed = {(f.filename, f.hash) for f in kept.files}
            package.files = [f for f in package.files if (f["file"], FileHash.parse(f["hash"])) in allowed]


def _keep_line_endings(text: str, lock: Path) -> str:
    """As Poetry's own writer: an existing lock keeps its line endings."""
    crlf = False
    if lock.exists():
        with lock.open(encoding="utf-8", newline="") as handle:
            crlf = handle.readline().endswith("\r\n")
    text = text.replace("\r\n", "\n")
    return re.sub(r"\n", "\r\n", text) if crlf else text


@contextlib.contextmanager
def _as_poetry_errors() -> Iterator[None]:
    """pinwarden's errors become Poetry's: one clean message, exit 1, no traceback."""
    from ..shared.errors import PinwardenError
    from ..shared.model import InvalidValue

    try:
        yield
    except (PinwardenError, InvalidValue) as error:
        from .prompt import poetry_error

        wrapped = error if isinstance(error, PinwardenError) else PinwardenError(str(error))
        raise poetry_error(wrapped) from None
