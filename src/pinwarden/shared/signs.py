"""Warning signs read from index data: facts that deserve a look before trust carries over. Pure.

A sign is not a change to trusted content (compare.py finds those); it says that what an index
serves does not look like an ordinary release: a file added long after the others, a wheel with a
build tag, an sdist arriving after wheels only, a new version shaped unlike the last trusted one, a
yank, or a project whose history no longer reaches back to what was trusted.

Every sign carries one plain sentence (`detail`) and its evidence (times, gap, files) for JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from .filenames import DistKind, parse_filename, same_version, version_key
from .index.simple import IndexFile
from .model import Finding, FindingKind, NormalizedName, TrustedRelease, TrustEvent

DEFAULT_LATE_UPLOAD_DAYS = 14  # PyPI's own window for adding files to a release


@dataclass(frozen=True, slots=True, kw_only=True)
class Sign:
    kind: FindingKind
    detail: str
    evidence: Mapping[str, object]
    filename: str | None = None

    def finding(self, project: NormalizedName, version: str, lockfile: str, **fields: str | None) -> Finding:
        return Finding(
            kind=self.kind,
            project=project,
            version=version,
            lockfile=lockfile,
            filename=self.filename,
            detail=self.detail,
            evidence=self.evidence,
            **fields,
        )


def parse_time(text: str | None) -> datetime | None:
    """PEP 700 `upload-time` (ISO 8601, `Z` or an offset) as an aware datetime; None if absent or bad."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
        # In UTC, and one day inside datetime's range: `0001-01-01T00:00+01:00` is before year 1
        # in UTC, and gaps or days added to a time at the edge would overflow later.
        moment = moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    if not _EARLIEST <= moment <= _LATEST:
        return None
    return moment


def trusted_from(event: TrustEvent) -> datetime | None:
    """When a trust event's trust dates from: its `since` (the commit that first locked the
    version), never later than when it was recorded."""
    moments = [t for t in (parse_time(event.at), parse_time(event.since)) if t is not None]
    return min(moments, default=None)


_EARLIEST = datetime.min.replace(tzinfo=timezone.utc) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=timezone.utc) - timedelta(days=1)


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _days(gap: timedelta) -> float:
    return round(gap.total_seconds() / 86400, 2)


# ---------------------------------------------------------------------------------------------
# One version's files


def late_uploads(files: Sequence[IndexFile], days: int, *, only: Iterable[str] | None = None) -> list[Sign]:
    """Files uploaded more than `days` after the version's first file (`only`: just these names)."""
    timed = [(moment, f) for f in files if (moment := parse_time(f.upload_time)) is not None]
    if not timed:
        return []
    first_time, first = min(timed, key=lambda pair: (pair[0], pair[1].filename))
    wanted = set(only) if only is not None else None
    signs = []
    for moment, file in sorted(timed, key=lambda pair: pair[1].filename):
        gap = moment - first_time
        if gap <= timedelta(days=days) or (wanted is not None and file.filename not in wanted):
            continue
        signs.append(
            Sign(
                kind=FindingKind.LATE_UPLOAD,
                filename=file.filename,
                detail=f"late upload: added {_days(gap):g} days after the version's first file "
                f"({_day(first_time)} to {_day(moment)}), long after its release could be reviewed",
                evidence={
                    "first_file": first.filename,
                    "first_upload": _iso(first_time),
                    "upload_time": _iso(moment),
                    "gap_days": _days(gap),
                    "limit_days": days,
                },
            )
        )
    return signs


def build_tag(filename: str, served: Iterable[str] = ()) -> Sign | None:
    """A wheel with a build tag outranks the same wheel without one at install time."""
    parsed = parse_filename(filename)
    if parsed.build_tag is None:
        return None
    originals = sorted(
        other
        for other in served
        if (o := parse_filename(other)).kind is DistKind.WHEEL
        and o.build_tag is None
        and o.tags == parsed.tags
    )
    return Sign(
        kind=FindingKind.BUILD_TAG,
        filename=filename,
        detail=f"build tag {parsed.build_tag}: installers prefer this wheel over the same wheel without one",
        evidence={"build_tag": parsed.build_tag, "outranks": originals},
    )


def sdist_added_to_wheels(filename: str, trusted: TrustedRelease) -> Sign | None:
    """An sdist served for a version that was trusted with wheels only."""
    names = sorted(f.filename for f in trusted.files if f.filename is not None)
    if parse_filename(filename).kind is not DistKind.SDIST or not names:
        return None
    if not all(name.endswith(".whl") for name in names):
        return None
    return Sign(
        kind=FindingKind.SDIST_ADDED,
        filename=filename,
        detail="sdist added: this version was trusted with wheels only, and an sdist runs its build code "
        "at install",
        evidence={"trusted_files": names},
    )


def sdist_added_late(files: Sequence[IndexFile], days: int) -> list[Sign]:
    """An sdist uploaded more than `days` after the version's wheels, where no sdist came before."""
    timed = sorted(
        ((moment, f) for f in files if (moment := parse_time(f.upload_time)) is not None),
        key=lambda pair: (pair[0], pair[1].filename),
    )
    if not timed or parse_filename(timed[0][1].filename).kind is DistKind.SDIST:
        return []
    first_time = timed[0][0]
    for moment, file in timed:
        if parse_filename(file.filename).kind is not DistKind.SDIST:
            continue
        gap = moment - first_time
        if gap <= timedelta(days=days):
            return []
        wheels = sorted(f.filename for t, f in timed if t < moment)
        return [
            Sign(
                kind=FindingKind.SDIST_ADDED,
                filename=file.filename,
                detail=f"sdist added: it came {_days(gap):g} days after the version's wheels, and an sdist "
                "runs its build code at install",
                evidence={
                    "first_upload": _iso(first_time),
                    "upload_time": _iso(moment),
                    "gap_days": _days(gap),
                    "earlier_files": wheels,
                },
            )
        ]
    return []


def yanked(files: Sequence[IndexFile], *, only: Iterable[str] | None = None) -> list[Sign]:
    """Yanked files: one sign for the version when all of them are, else one per file."""
    pulled = [f for f in files if f.yanked is not False]
    if not pulled:
        return []
    if len(pulled) == len(files):
        reasons = sorted({_reason(f) for f in pulled})
        return [
            Sign(
                kind=FindingKind.YANKED,
                detail=f"yanked: the index withdrew this version ({'; '.join(reasons)}); "
                "installers skip it unless pinned",
                evidence={"reasons": reasons, "files": sorted(f.filename for f in pulled)},
            )
        ]
    wanted = set(only) if only is not None else None
    return [
        Sign(
            kind=FindingKind.YANKED,
            filename=f.filename,
            detail=f"yanked: the index withdrew this file ({_reason(f)}) but still serves the others",
            evidence={"reason": _reason(f)},
        )
        for f in sorted(pulled, key=lambda f: f.filename)
        if wanted is None or f.filename in wanted
    ]


def _reason(file: IndexFile) -> str:
    return file.yanked if isinstance(file.yanked, str) else "no reason given"


# ---------------------------------------------------------------------------------------------
# A new version against the last trusted one


@dataclass(frozen=True, slots=True)
class Shape:
    """What kinds of distributions a version ships (not their exact names)."""

    files: int
    sdist: bool
    platforms: frozenset[str]
    pythons: frozenset[int]  # CPython 3.x minor versions with binary wheels
    abi3_from: int | None  # the oldest CPython an abi3 wheel covers

    @classmethod
    def of(cls, filenames: Iterable[str]) -> Shape:
        names = list(dict.fromkeys(filenames))
        sdist = False
        platforms: set[str] = set()
        pythons: set[int] = set()
        abi3: list[int] = []
        for name in names:
            parsed = parse_filename(name)
            sdist = sdist or parsed.kind is DistKind.SDIST
            for tag in parsed.tags:
                platforms.add(_platform_family(tag.platform))
                minor = _cpython_minor(tag.interpreter)
                if minor is None:
                    continue
                if tag.abi == "abi3":
                    abi3.append(minor)
                else:
                    pythons.add(minor)
        return cls(len(names), sdist, frozenset(platforms), frozenset(pythons), min(abi3) if abi3 else None)

    def covers(self, minor: int) -> bool:
        return minor in self.pythons or (self.abi3_from is not None and minor >= self.abi3_from)


_PLATFORM_FAMILIES = (
    ("any", "pure-Python"),
    ("win", "Windows"),
    ("macosx", "macOS"),
    ("manylinux", "Linux"),
    ("linux", "Linux"),
    ("musllinux", "musl Linux"),
    ("ios", "iOS"),
    ("android", "Android"),
)


def _platform_family(platform: str) -> str:
    # musllinux before linux: the longest prefix names the family.
    for prefix, family in sorted(_PLATFORM_FAMILIES, key=lambda pair: -len(pair[0])):
        if platform.startswith(prefix):
            return family
    return platform


def _cpython_minor(interpreter: str) -> int | None:
    if not interpreter.startswith("cp3") or not interpreter[3:].isdigit():
        return None
    return int(interpreter[3:])


def shape_change(
    version: str, filenames: Iterable[str], trusted_version: str, trusted_filenames: Iterable[str]
) -> Sign | None:
    """A new version whose distributions differ in kind from the last trusted version's.

    Ordinary releases drop their oldest Pythons and add the newest: those are not reported. A
    missing platform, a hole in (or the top of) the Python versions, an sdist that appears or
    vanishes, or far fewer files is how partial and tampered uploads look.
    """
    new, old = Shape.of(filenames), Shape.of(trusted_filenames)
    if not old.files or not new.files:
        return None
    changes, evidence = _differences(new, old)
    if not changes:
        return None
    return Sign(
        kind=FindingKind.SHAPE_CHANGE,
        detail=f"shape change: unlike {trusted_version}, the last trusted version, it has "
        + "; ".join(changes),
        evidence={
            "compared_with": trusted_version,
            "files": new.files,
            "trusted_files": old.files,
            **evidence,
        },
    )


def _differences(new: Shape, old: Shape) -> tuple[list[str], dict[str, object]]:
    changes: list[str] = []
    evidence: dict[str, object] = {}
    if new.sdist != old.sdist:
        changes.append("an sdist" if new.sdist else "no sdist")
        evidence["sdist"] = "added" if new.sdist else "dropped"
    dropped = sorted(old.platforms - new.platforms)
    added = sorted(new.platforms - old.platforms)
    if dropped:
        changes.append("no " + ", ".join(dropped) + " wheels")
        evidence["platforms_dropped"] = dropped
    if added:
        changes.append(", ".join(added) + " wheels for the first time")
        evidence["platforms_added"] = added
    oldest = min([*new.pythons, *([new.abi3_from] if new.abi3_from is not None else [])], default=None)
    missing = sorted(m for m in old.pythons if oldest is not None and m > oldest and not new.covers(m))
    if missing:
        changes.append("no wheels for CPython " + ", ".join(f"3.{m}" for m in missing))
        evidence["pythons_dropped"] = [f"3.{m}" for m in missing]
    newest = max(old.pythons, default=None)
    older = sorted(m for m in new.pythons - old.pythons if newest is not None and m < newest)
    if older:
        changes.append("wheels again for older CPython " + ", ".join(f"3.{m}" for m in older))
        evidence["pythons_added"] = [f"3.{m}" for m in older]
    switched_to_abi3 = new.abi3_from is not None and old.abi3_from is None  # one wheel for many
    if old.files >= 4 and new.files * 2 < old.files and not switched_to_abi3:
        changes.append(f"{new.files} files where it had {old.files}")
        evidence["far_fewer_files"] = True
    return changes, evidence


def last_trusted(trusted: Iterable[TrustedRelease], version: str) -> TrustedRelease | None:
    """The trusted version closest below `version` (else the lowest above it): what a new version
    is measured against."""
    others = [r for r in trusted if not same_version(r.version, version)]
    if not others:
        return None
    key = version_key(version)
    below = [r for r in others if version_key(r.version) < key]
    if below:
        return max(below, key=lambda r: version_key(r.version))
    return min(others, key=lambda r: version_key(r.version))


# ---------------------------------------------------------------------------------------------
# The project as a whole


def project_recreated(project_files: Sequence[IndexFile], trusted: Sequence[TrustedRelease]) -> Sign | None:
    """The index's history no longer reaches back to what the ledger trusted: its oldest file is
    newer than the first trust of a version, or trusted versions are gone entirely."""
    if not trusted:
        return None
    evidence: dict[str, object] = {}
    reasons: list[str] = []
    oldest = min((t for f in project_files if (t := parse_time(f.upload_time)) is not None), default=None)
    first_trust = min(
        (t for r in trusted for e in r.history if (t := trusted_from(e)) is not None), default=None
    )
    if oldest is not None and first_trust is not None and oldest > first_trust:
        reasons.append(
            f"its oldest file ({_day(oldest)}) is newer than the first trust ({_day(first_trust)})"
        )
        evidence.update(oldest_upload=_iso(oldest), first_trusted=_iso(first_trust))
    filenames = {f.filename for f in project_files}
    gone = sorted(
        (
            r.version
            for r in trusted
            if not any(f.filename in filenames for f in r.files)
            and not any(of_version(name, r.name, r.version) for name in filenames)
        ),
        key=version_key,
    )
    if gone:
        reasons.append(f"trusted version(s) {', '.join(gone)} are gone")
        evidence["vanished_versions"] = gone
    if not reasons:
        return None
    return Sign(
        kind=FindingKind.PROJECT_RECREATED,
        detail="project may have been deleted and registered again: " + " and ".join(reasons),
        evidence=evidence,
    )


# ---------------------------------------------------------------------------------------------
# Which files are a version's, fast


_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar", ".egg")


def version_text(filename: str) -> str | None:
    """The version part of a filename as written, without parsing it: None for shapes not read here."""
    if filename.endswith(".whl"):
        parts = filename.split("-")
        return parts[1] if len(parts) >= 5 else None
    for suffix in _SUFFIXES:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            if suffix == ".egg":
                parts = stem.split("-")
                return parts[1] if len(parts) >= 2 else None
            return stem.rpartition("-")[2] or None
    return None


@lru_cache(maxsize=16384)
def _same(text: str, version: str) -> bool:
    return same_version(text, version)


def of_version(filename: str, project: NormalizedName, version: str) -> bool:
    """Whether a filename is one of project==version's files, by what it parses as. A project page
    lists every version's files (tens of thousands for some): the version text is compared first,
    and only the few that match are parsed in full (which also catches `cffi-1.0.2-2.tar.gz`)."""
    text = version_text(filename)
    if text is None or not _same(text, version):
        return False
    parsed = parse_filename(filename)
    return parsed.name == project and parsed.version is not None and _same(parsed.version, version)
