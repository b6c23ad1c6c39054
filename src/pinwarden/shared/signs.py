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
    blocking: bool = True  # False: information (benign in kind), never a question

    def finding(self, project: NormalizedName, version: str, lockfile: str, **fields: str | None) -> Finding:
        return Finding(
            kind=self.kind,
            project=project,
            version=version,
            lockfile=lockfile,
            filename=self.filename,
            detail=self.detail,
            evidence=self.evidence,
            blocking=self.blocking,
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
    """Files uploaded more than `days` after the version's first file (`only`: just these names), as
    at most two signs, one line each however many files: wheels only for interpreters newer than
    every wheel the release came with (information: no installer that used the version before picks
    them), and the rest (a question: a file for tags the release already covered, a build tag, an
    sdist, a pure-Python wheel can take the place of what was reviewed)."""
    timed = sorted(
        ((moment, f) for f in files if (moment := parse_time(f.upload_time)) is not None),
        key=lambda pair: (pair[0], pair[1].filename),
    )
    if not timed:
        return []
    first_time, first = timed[0]
    limit = timedelta(days=days)
    wanted = set(only) if only is not None else None
    late = [
        (moment, f)
        for moment, f in timed
        if moment - first_time > limit and (wanted is None or f.filename in wanted)
    ]
    if not late:
        return []
    newer: list[tuple[datetime, IndexFile]] = []
    other: list[tuple[datetime, IndexFile]] = []
    adds: set[str] = set()
    # What a late file is compared with: every file that is not itself in question (a trusted file
    # covers, whatever time the index gives it or whether it gives one), and the files in question
    # uploaded before its batch. Only the files in question of one batch may cover nothing of each
    # other (attack round 10: a wheel within a day of a trusted late wheel, or beside one re-dated).
    in_question = wanted if wanted is not None else {f.filename for _, f in timed}
    times = {f.filename: t for t, f in timed}
    for moment, file in late:
        earlier = [f.filename for t, f in timed if t < moment - _BATCH]
        covering = [
            f.filename
            for f in files
            if f.filename != file.filename
            and (f.filename not in in_question or times.get(f.filename, moment) < moment - _BATCH)
        ]
        uncovered = _uncovered(file.filename, earlier, covering)
        (newer if uncovered is not None else other).append((moment, file))
        adds.update(uncovered or ())
    context = (first_time, first.filename, days)
    return [
        sign
        for batch, blocking in ((newer, False), (other, True))
        if (sign := _late_sign(batch, context, blocking=blocking, adds=sorted(adds))) is not None
    ]


def _late_sign(
    batch: list[tuple[datetime, IndexFile]],
    context: tuple[datetime, str, int],
    *,
    blocking: bool,
    adds: list[str],
) -> Sign | None:
    if not batch:
        return None
    first_time, first_file, days = context
    batch = sorted(batch, key=lambda pair: pair[1].filename)
    gaps = sorted(_days(moment - first_time) for moment, _ in batch)
    last = max(moment for moment, _ in batch)
    span = f"{gaps[0]:g}" if gaps[0] == gaps[-1] else f"{gaps[0]:g} to {gaps[-1]:g}"
    when = f"{span} days after the version's first file ({_day(first_time)} to {_day(last)})"
    added = f"{len(batch)} files added" if len(batch) > 1 else "added"
    detail = f"late upload: {added} {when}, long after its release could be reviewed"
    if not blocking:
        detail = (
            f"late upload (information): {added} {when}, wheels only for interpreters or platforms no "
            f"earlier wheel covered ({_summary(adds)}): installs that picked a wheel before keep theirs"
        )
    evidence: dict[str, object] = {
        "first_file": first_file,
        "first_upload": _iso(first_time),
        "upload_time": _iso(last),
        "gap_days": gaps[-1],
        "limit_days": days,
        "files": [
            {"filename": f.filename, "upload_time": _iso(moment), "gap_days": _days(moment - first_time)}
            for moment, f in batch
        ],
    }
    if not blocking:
        evidence["uncovered"] = adds
    return Sign(
        kind=FindingKind.LATE_UPLOAD,
        filename=batch[0][1].filename if len(batch) == 1 else None,
        detail=detail,
        evidence=evidence,
        blocking=blocking,
    )


def late_filenames(filename: str | None, evidence: Mapping[str, object] | None) -> frozenset[str]:
    """The files a late-upload sign or finding speaks for: its own, or the batch its evidence lists."""
    listed = evidence.get("files") if evidence is not None else None
    names = [e.get("filename") for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
    return frozenset(n for n in [filename, *names] if isinstance(n, str))


# Wheels one build uploads (a universal2 and an x86_64 wheel of one new interpreter) land within
# hours of each other: a late file is compared with what came before its batch, not within it.
_BATCH = timedelta(days=1)

# An interpreter as (implementation, 3.x minor): CPython and PyPy wheels name theirs `cp311`, `pp310`.
_Interpreter = tuple[str, int]


def _interpreter_of(tag_interpreter: str, abi: str) -> tuple[_Interpreter, bool] | None:
    """(interpreter, and whether it reaches every later one too); None for `py3` and the unknown."""
    family, digits = tag_interpreter[:2], tag_interpreter[2:]
    if family not in ("cp", "pp") or not digits.startswith("3") or not digits[1:].isdigit():
        return None
    return (family, int(digits[1:])), abi == "abi3"


def _platform(platform: str) -> tuple[str, str]:
    """(family, architecture): `manylinux2014_aarch64` and `manylinux_2_17_aarch64` are one."""
    if platform == "any":
        return ("any", "")
    family = _platform_family(platform)
    arch = next((a for a in _ARCHITECTURES if platform.endswith(a)), None)
    return (family, arch or (platform.rsplit("_", 1)[-1] if "_" in platform else platform))


# Longest first: `x86_64` before `64`, `ppc64le` before `ppc64`, `win_amd64` ends in `amd64`.
_ARCHITECTURES = sorted(
    (
        "x86_64",
        "aarch64",
        "arm64",
        "armv7l",
        "armv6l",
        "i686",
        "i386",
        "ppc64le",
        "ppc64",
        "s390x",
        "riscv64",
        "loongarch64",
        "amd64",
        "win32",
        "universal2",
        "universal",
        "intel",
        "fat64",
        "fat32",
        "fat",
    ),
    key=len,
    reverse=True,
)
# pip takes a plain `linux_*` wheel on glibc and on musl alike: it overlaps with both families.
_ANY_LIBC = "Linux (any libc)"


def _same_platform(a: tuple[str, str], b: tuple[str, str]) -> bool:
    fat = ("universal", "intel", "fat")  # macOS wheels that hold several architectures
    linux = {"Linux", "musl Linux", _ANY_LIBC}
    families = a[0] == b[0] or (_ANY_LIBC in (a[0], b[0]) and {a[0], b[0]} <= linux)
    return families and (a[1] == b[1] or a[1].startswith(fat) or b[1].startswith(fat))


def _uncovered(filename: str, earlier: Sequence[str], covering: Sequence[str] = ()) -> list[str] | None:
    """What a late wheel adds, when every tag it carries is for an interpreter or a platform that no
    wheel uploaded before it covers (cp311 wheels added to a cp39/cp310 release; aarch64 wheels
    added beside x86_64 ones): an install that picked a wheel before has no reason to pick this one.
    None for anything else: an sdist, a build tag, a pure-Python or abi3 wheel (they reach every
    interpreter), a tag an earlier wheel covers, or a release that had no wheel to compare with.
    `covering`: more files whose tags count as covered (a trusted file, whatever its upload time)."""
    parsed = parse_filename(filename)
    if parsed.kind is not DistKind.WHEEL or parsed.build_tag is not None or not parsed.tags:
        return None
    before = [t for name in earlier if name.endswith(".whl") for t in parse_filename(name).tags]
    if not any(_interpreter_of(t.interpreter, t.abi) for t in before):
        return None
    before += [t for name in covering if name.endswith(".whl") for t in parse_filename(name).tags]
    added: set[str] = set()
    for tag in parsed.tags:
        found = _interpreter_of(tag.interpreter, tag.abi)
        if found is None or found[1]:
            return None
        (family, minor), place = found[0], _platform(tag.platform)
        for other in before:
            theirs = _interpreter_of(other.interpreter, other.abi)
            generic = other.interpreter.startswith("py3")  # `py3`, `py38`: any Python 3 (cp27 none)
            reaches = generic or (
                theirs is not None
                and (
                    theirs[0][0] == family
                    and (theirs[0][1] == minor or (theirs[1] and theirs[0][1] <= minor))
                )
            )
            there = _platform(other.platform)
            if reaches and (there[0] == "any" or _same_platform(place, there)):
                return None
        added.add(f"{_interpreter_name((family, minor))} {' '.join(w for w in place if w)}")
    return sorted(added)


def _summary(adds: Sequence[str]) -> str:
    """`CPython 3.9 Linux aarch64`, or `CPython 3.11 on 10 platforms` for a whole batch."""
    by_interpreter: dict[str, list[str]] = {}
    for add in adds:
        name, minor, *place = add.split(" ")
        by_interpreter.setdefault(f"{name} {minor}", []).append(" ".join(place))
    return ", ".join(
        f"{python} {places[0]}" if len(places) == 1 else f"{python} on {len(places)} platforms"
        for python, places in sorted(by_interpreter.items())
    )


def _interpreter_name(interpreter: _Interpreter) -> str:
    family, minor = interpreter
    return f"{'CPython' if family == 'cp' else 'PyPy'} 3.{minor}"


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
    ("linux", _ANY_LIBC),
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
    """A new version shaped the way a hijacked release is, against the last trusted version.

    Measured on 3,176 consecutive releases of PyPI's 300 most downloaded projects
    (benchmarks/signs_bench.py), differences in kind are ordinary release engineering: platforms and
    interpreters added (69 of the 93 differences) or dropped, an sdist added or left out, a partial
    upload. None of them puts code a person did not review on a machine that the new version would
    not reach anyway. Two shapes do, and both are what an upload token alone yields cheaply, without
    the project's build farm: one sdist, or one pure-Python wheel built on one machine, in place of
    per-platform wheels. Every wheel gone: every install runs the sdist's build code (account
    takeovers such as ctx in 2022 published source archives). Binary wheels replaced by a
    pure-Python one: every platform installs that one file. Only those are reported, and they ask a
    person; neither occurs in the measured pairs.
    """
    new, old = Shape.of(filenames), Shape.of(trusted_filenames)
    if not old.files or not new.files:
        return None
    changes, evidence = _attack_shapes(new, old)
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


def _attack_shapes(new: Shape, old: Shape) -> tuple[list[str], dict[str, object]]:
    old_binary = old.platforms - {"pure-Python"}
    if not old_binary:  # a pure-Python project's wheel is as cheap to build as its sdist
        return [], {}
    if not new.platforms:
        return ["no wheels at all, only an sdist that runs its build code at every install"], {
            "wheels_dropped": sorted(old.platforms)
        }
    if "pure-Python" not in old.platforms and new.platforms == {"pure-Python"}:
        return [f"a pure-Python wheel in place of its {', '.join(sorted(old_binary))} wheels"], {
            "platforms_dropped": sorted(old_binary),
            "platforms_added": ["pure-Python"],
        }
    return [], {}


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
