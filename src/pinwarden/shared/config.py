"""`[tool.pinwarden]` in pyproject.toml -> settings. Pure: the caller reads the file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import Collector
from .toml import key_path, load_toml

if TYPE_CHECKING:
    from .lockfacts import LockRules

FIRST_USE_CHOICES = ("trust", "ask")
SDIST_INSTALLS_CHOICES = ("allow", "refuse")
_KNOWN = ("ledger", "first-use", "late-upload-days", "exclude", "sdist-installs", "file-hosts")
# A century: longer than any package's life, small enough for every datetime computation with it.
MAX_LATE_UPLOAD_DAYS = 36500


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    ledger: str | None = None
    first_use: str = "trust"
    late_upload_days: int = 14
    # Glob patterns (fnmatch, `/`-separated, relative to the project) of requirements files that
    # are not locks: lock discovery skips them instead of refusing their unhashed pins.
    exclude: tuple[str, ...] = ()
    # "refuse": the Poetry plugin installs nothing it would build from source (see decide.built_from_source).
    sdist_installs: str = "allow"
    # Hosts (`host` or `host:port`) a uv.lock or pylock.toml may fetch files from besides the index
    # a package is locked from and its file host (a mirror or CDN an index hands files to).
    file_hosts: tuple[str, ...] = ()

    def lock_rules(self) -> LockRules:
        """What `check` reads offline from locks with URLs and upload times (lockfacts.py)."""
        from .lockfacts import LockRules

        return LockRules(file_hosts=self.file_hosts, late_upload_days=self.late_upload_days)


def parse_settings(text: str, source: str = "pyproject.toml") -> Settings:
    """Only `[tool.pinwarden]` is validated; the rest of pyproject.toml is Poetry's business."""
    data = load_toml(text, source, "pyproject.toml")
    problems = Collector()
    tool = data.get("tool", {})
    table: Any = tool.get("pinwarden", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        problems.add("tool.pinwarden", "must be a table")
        problems.raise_if_any(source, "pyproject.toml")
    settings = _read(table, problems)
    problems.raise_if_any(source, "pyproject.toml")
    return settings


def _read(table: dict[str, Any], problems: Collector) -> Settings:
    where = "tool.pinwarden"
    ledger = table.get("ledger")
    first_use = table.get("first-use", "trust")
    days = table.get("late-upload-days", 14)
    sdist_installs = table.get("sdist-installs", "allow")
    for key in table:
        if key not in _KNOWN:
            problems.add(f"{where}.{key_path(key)}", f"unknown setting (known: {', '.join(_KNOWN)})")
    # A NUL cannot be in a path: the OS would refuse it later, with a less helpful error.
    if ledger is not None and (not isinstance(ledger, str) or not ledger.strip() or "\0" in ledger):
        problems.add(f"{where}.ledger", "must be a path string")
        ledger = None
    if first_use not in FIRST_USE_CHOICES:
        problems.add(
            f"{where}.first-use", f"must be one of {', '.join(FIRST_USE_CHOICES)}, found {first_use!r}"
        )
        first_use = "trust"
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_LATE_UPLOAD_DAYS:
        problems.add(
            f"{where}.late-upload-days",
            f"must be a whole number of days from 0 to {MAX_LATE_UPLOAD_DAYS}, found {days!r}",
        )
        days = 14
    if sdist_installs not in SDIST_INSTALLS_CHOICES:
        problems.add(
            f"{where}.sdist-installs",
            f"must be one of {', '.join(SDIST_INSTALLS_CHOICES)}, found {sdist_installs!r}",
        )
        sdist_installs = "allow"
    exclude = _exclude(table.get("exclude", []), problems)
    file_hosts = _file_hosts(table.get("file-hosts", []), problems)
    return Settings(
        file_hosts=file_hosts,
        ledger=ledger,
        first_use=first_use,
        late_upload_days=days,
        exclude=exclude,
        sdist_installs=sdist_installs,
    )


def _exclude(value: object, problems: Collector) -> tuple[str, ...]:
    where = "tool.pinwarden.exclude"
    if not isinstance(value, list):
        problems.add(where, "must be a list of glob patterns, relative to the project")
        return ()
    patterns = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or "\0" in item:
            problems.add(f"{where}[{i}]", f"must be a glob pattern, found {item!r}")
        elif item.startswith("/") or item.split("/")[0] == "..":
            problems.add(f"{where}[{i}]", f"must be relative to the project, found {item!r}")
        else:
            patterns.append(item)
    return tuple(patterns)


def _file_hosts(value: object, problems: Collector) -> tuple[str, ...]:
    from .lockfacts import setting_hosts

    where = "tool.pinwarden.file-hosts"
    if not isinstance(value, list):
        problems.add(where, "must be a list of host names (host or host:port)")
        return ()
    hosts = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not setting_hosts(item):
            problems.add(f"{where}[{i}]", f"must be a host name (host or host:port), found {item!r}")
        else:
            hosts.append(item)
    return tuple(hosts)
