"""`pinwarden audit` from end to end, the same for the CLI and for `poetry pinwarden audit`.

locks -> which indexes to ask (sources.py) -> project pages, many at once (a `Fetcher`: plain HTTP,
or Poetry's authenticator) -> hashes downloaded where a page lists none the ledger can compare ->
the pure audit (audit.py) -> the baseline written under its lock -> a report. The caller renders
and chooses the exit code; errors of the index never pass silently (they are `errors`, exit 2).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from .audit import AuditResult, AuditSettings, Subject, audit
from .baseline import BASELINE_FILENAME, compact
from .errors import PinwardenError
from .index.client import fetch_pages
from .index.pages import Observed, Page, PageResult
from .index.simple import IndexFile
from .index.sources import (
    IndexOptions,
    PoetrySource,
    Target,
    checked_url,
    pip_indexes,
    poetry_credentials,
    target_of,
)
from .ledger import Ledger
from .model import FileHash, Finding, LockedRelease, LockFile, NormalizedName
from .store import BaselineStore, LedgerStore, read_text

if TYPE_CHECKING:
    from .resolve import Resolution

MAX_JOBS = 256  # urllib3 fills a connection pool slot by slot: a huge --jobs would never start
MAX_TIMEOUT = 3600.0


class Fetcher(Protocol):
    requests: int

    def fetch_page(self, index: str, name: str) -> PageResult: ...

    def download_digests(
        self, url: str, algorithms: Iterable[str], *, index: str, size: int | None = None
    ) -> Mapping[str, FileHash]: ...


@dataclass(frozen=True, slots=True)
class AuditOutcome:
    result: AuditResult
    releases: int  # locked versions looked up on an index
    pages: int  # project pages asked for
    baseline_path: Path
    baseline_written: bool


def baseline_path_for(ledger: Path) -> Path:
    """Beside the ledger: `pinwarden-baseline.toml`, or `<ledger stem>.baseline.toml` for a ledger
    with a name of its own (two ledgers in one directory keep two baselines)."""
    if ledger.name == "pinwarden-ledger.toml":
        return ledger.with_name(BASELINE_FILENAME)
    return ledger.with_name(f"{ledger.stem}.baseline.toml")


def run_audit(
    locks: Sequence[LockFile],
    store: LedgerStore,
    fetcher: Fetcher,
    *,
    options: IndexOptions,
    settings: AuditSettings,
    jobs: int,
    progress: Callable[[int, int], None] | None = None,
) -> AuditOutcome:
    ledger = store.load()
    baselines = BaselineStore(baseline_path_for(store.path))
    baseline = baselines.load()  # a malformed baseline stops here, before any request
    targets = [(r, t) for lock in locks for r in lock.releases if (t := target_of(r, lock, options))]
    for index in sorted({i for _, t in targets for i in t.indexes}):
        checked_url(index, "index URL")  # from a lock: stop before any request, naming it
    wanted = [(index, r.name) for r, t in targets for index in t.indexes]
    pages = fetch_pages(fetcher.fetch_page, wanted, jobs=jobs, progress=progress)
    subjects = [_subject(r, t, pages) for r, t in targets]
    served_by = _served_by(pages)
    subjects, download_errors = _complete_hashes(subjects, ledger, fetcher, jobs, served_by)
    result = audit(ledger, baseline, subjects, settings)
    result = replace(
        result,
        errors=(*result.errors, *download_errors),
        not_audited=result.not_audited + len(download_errors),
    )
    written = False
    if result.recorded:
        with baselines.locked():
            # Reloaded: another audit may have recorded versions since; ours win for ours only.
            current = baselines.load()
            fresh = [result.baseline.releases[k] for k in result.recorded]
            written = baselines.save(compact(current.with_releases(fresh), ledger))
    return AuditOutcome(result, len(targets), len(set(wanted)), baselines.path, written)


def _subject(
    release: LockedRelease, target: Target, pages: Mapping[tuple[str, NormalizedName], PageResult]
) -> Subject:
    observed = Observed.merge(pages[(index, release.name)] for index in target.indexes)
    return Subject(release=release, observed=observed, named_index=target.named)


# ---------------------------------------------------------------------------------------------
# Pages that list no hash the ledger can compare


def _served_by(pages: Mapping[tuple[str, NormalizedName], PageResult]) -> dict[str, str]:
    """File URL -> the index whose page listed it: a download is allowed on that index's hosts only."""
    found: dict[str, str] = {}
    for (index, _), result in sorted(pages.items()):
        if isinstance(result, Page):
            for file in result.files:
                found.setdefault(file.url, index)
    return found


@dataclass(frozen=True, slots=True)
class _Wanted:
    algorithm: str  # the ledger's, to compare with
    listed: tuple[FileHash, ...]  # the page's claims, checked against the same bytes
    index: str
    size: int | None


def _complete_hashes(
    subjects: Sequence[Subject],
    ledger: Ledger,
    fetcher: Fetcher,
    jobs: int,
    served_by: Mapping[str, str],
) -> tuple[list[Subject], list[str]]:
    """Download and hash the files of trusted versions that the page lists without a hash of the
    ledger's algorithm (PEP 503 pages without fragments, an index that switched to sha512):
    otherwise a changed file could not be told from an unchanged one. The hashes the page does list
    are checked against the same bytes: a page that lists a hash of other bytes is an error."""
    wanted: dict[str, _Wanted] = {}
    for subject in subjects:
        trusted = ledger.get(subject.release.name, subject.release.version)
        if trusted is None or subject.observed.failures:
            continue
        algorithms = {h.algorithm for f in trusted.files for h in f.hashes}
        names = {f.filename for f in trusted.files if f.filename}
        unnamed = any(f.filename is None for f in trusted.files)
        for file in subject.observed.files:
            if (file.filename in names or unnamed) and not any(
                h.algorithm in algorithms for h in file.hashes
            ):
                algorithm = sorted(algorithms)[0] if algorithms else "sha256"
                index = served_by.get(file.url, "")
                wanted.setdefault(file.url, _Wanted(algorithm, file.hashes, index, file.size))
    if not wanted:
        return list(subjects), []
    digests, errors = _download_all(fetcher, wanted, jobs)
    completed = [replace(s, observed=_with_digests(s.observed, digests)) for s in subjects]
    return completed, errors


def _download_all(
    fetcher: Fetcher, wanted: Mapping[str, _Wanted], jobs: int
) -> tuple[dict[str, FileHash], list[str]]:
    from concurrent.futures import ThreadPoolExecutor

    from .index.sources import redact_url

    def one(item: tuple[str, _Wanted]) -> tuple[str, FileHash | str]:
        url, want = item
        algorithms = [want.algorithm, *(h.algorithm for h in want.listed)]
        try:
            computed = fetcher.download_digests(url, algorithms, index=want.index, size=want.size)
        except Exception as exc:  # any failure is an error of the audit, never a pass
            return url, str(exc)
        lies = [h for h in want.listed if computed[h.algorithm] != h]
        if lies:
            return url, (
                f"{redact_url(url)}: the page lists {lies[0]} but the file's bytes give "
                f"{computed[lies[0].algorithm]}: the index serves other bytes than it lists"
            )
        return url, computed[want.algorithm]

    digests: dict[str, FileHash] = {}
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(wanted)))) as pool:
        for url, answer in pool.map(one, wanted.items()):
            if isinstance(answer, FileHash):
                digests[url] = answer
            else:
                errors.append(answer)
    return digests, errors


def _with_digests(observed: Observed, digests: Mapping[str, FileHash]) -> Observed:
    def completed(file: IndexFile) -> IndexFile:
        digest = digests.get(file.url)
        return file if digest is None else replace(file, hashes=(*file.hashes, digest))

    return replace(observed, files=tuple(completed(f) for f in observed.files))


# ---------------------------------------------------------------------------------------------
# Configuration from the environment


def index_options(
    index_url: str | None, extra_index_urls: Sequence[str], environ: Mapping[str, str] | None = None
) -> IndexOptions:
    environ = os.environ if environ is None else environ
    pip_index, pip_extras = pip_indexes([_read_quietly(p) for p in pip_config_files(environ)], environ)
    for url in (index_url, *extra_index_urls):
        if url is not None:
            checked_url(url, "index URL")
    for url in (pip_index, *pip_extras):
        if url is not None:
            checked_url(url, "index URL in pip's configuration")
    return IndexOptions(
        index_url=index_url,
        extra_index_urls=tuple(extra_index_urls),
        pip_index_url=pip_index,
        pip_extra_index_urls=pip_extras,
    )


def pip_config_files(environ: Mapping[str, str]) -> list[Path]:
    """pip's configuration files in the order pip loads them (later ones win); none for /dev/null."""
    explicit = environ.get("PIP_CONFIG_FILE")
    if explicit == os.devnull:
        return []
    home = Path(environ.get("HOME", str(Path.home())))
    config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    dirs = (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
    files = [Path(d) / "pip" / "pip.conf" for d in dirs if d]
    files += [Path("/etc/pip.conf"), home / ".pip" / "pip.conf", config_home / "pip" / "pip.conf"]
    files.append(Path(sys.prefix) / "pip.conf")
    if explicit:
        files.append(Path(explicit))
    return [f for f in files if f.is_file()]


def _read_quietly(path: Path) -> str:
    try:
        return read_text(path, "pip configuration file")
    except PinwardenError:
        return ""


def poetry_source_credentials(
    locks: Iterable[LockFile], environ: Mapping[str, str] | None = None
) -> dict[str, tuple[str, str]]:
    """Index URL -> credentials from POETRY_HTTP_BASIC_<SOURCE>_*, for the sources poetry.lock names."""
    environ = os.environ if environ is None else environ
    found: dict[str, tuple[str, str]] = {}
    for lock in locks:
        for release in lock.releases:
            if release.source_reference and release.source_url and release.source_url not in found:
                credentials = poetry_credentials(release.source_reference, environ)
                if credentials is not None:
                    found[release.source_url] = credentials
    return found


# ---------------------------------------------------------------------------------------------
# The command, for the CLI and for `poetry pinwarden audit`


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditCommand:
    """What the command line asked for."""

    format: str = "text"
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    update_baseline: bool = False
    timeout: float = 15.0
    jobs: int = 16
    cache: bool = True
    prog: str = "pinwarden"
    lock_args: str = ""
    file_hosts: tuple[str, ...] = ()  # [tool.pinwarden] file-hosts: read by check's offline checks


def audit_command(
    locks: Sequence[LockFile],
    store: LedgerStore,
    command: AuditCommand,
    out: TextIO,
    err: TextIO,
    *,
    fetcher: Fetcher | None = None,
    late_upload_days: int = 14,
) -> int:
    """Exit 0 when nothing changed upstream, 1 with findings, 2 when an index could not be audited."""
    outcome, requests = _audited(
        locks, store, command, err, fetcher=fetcher, late_upload_days=late_upload_days
    )
    return _report(outcome, store, command, out, err, requests=requests)


def _audited(
    locks: Sequence[LockFile],
    store: LedgerStore,
    command: AuditCommand,
    err: TextIO,
    *,
    fetcher: Fetcher | None,
    late_upload_days: int,
) -> tuple[AuditOutcome, int]:
    from .index.client import ClientSettings, HttpClient, usable_cache_dir
    from .progress import ProgressLine
    from .store import utc_now

    if not store.exists():
        raise PinwardenError(
            f"{store.path}: no ledger yet; run '{command.prog} init' to trust the current locks"
        )
    if not 1 <= command.jobs <= MAX_JOBS:
        raise PinwardenError(f"--jobs must be from 1 to {MAX_JOBS}, found {command.jobs}")
    if not 0 < command.timeout <= MAX_TIMEOUT:  # False for nan too
        raise PinwardenError(f"--timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    options = index_options(command.index_url, command.extra_index_urls)
    settings = AuditSettings(
        late_upload_days=late_upload_days,
        update_baseline=command.update_baseline,
        now=utc_now(),
        file_hosts=command.file_hosts,
    )
    owned = fetcher is None
    client = fetcher or HttpClient(
        ClientSettings(
            timeout=command.timeout,
            jobs=command.jobs,
            cache_dir=usable_cache_dir() if command.cache else None,
            credentials=poetry_source_credentials(locks),
        )
    )
    progress = ProgressLine(err, "pinwarden audit: project pages")
    try:
        outcome = run_audit(
            locks, store, client, options=options, settings=settings, jobs=command.jobs, progress=progress
        )
    finally:
        progress.close()
        if owned and isinstance(client, HttpClient):
            client.close()
    return outcome, client.requests


def acknowledge_command(
    locks: Sequence[LockFile],
    store: LedgerStore,
    command: AuditCommand,
    out: TextIO,
    err: TextIO,
    *,
    specs: Sequence[tuple[NormalizedName, str]],
    reason: str,
    fetcher: Fetcher | None = None,
    late_upload_days: int = 14,
    project_dir: Path | None = None,
) -> int:
    """`acknowledge NAME==VERSION --reason TEXT`: audit those versions now, and record their findings
    that are facts of the index (acknowledge.py) as known, with who, when and why. 0 recorded,
    1 nothing to acknowledge (what else ends the findings is printed), 2 error."""
    from .acknowledge import acknowledge, acknowledgeable, who
    from .filenames import same_version
    from .resolve import advice_lines
    from .store import utc_now

    if not reason.strip():
        raise PinwardenError("--reason must say why (it is recorded with the acknowledgment)")
    chosen: list[LockFile] = []
    keys: list[tuple[NormalizedName, str]] = []
    for name, version in specs:
        matches = [
            r for lock in locks for r in lock.releases if r.name == name and same_version(r.version, version)
        ]
        if not matches:
            where = ", ".join(lock.path for lock in locks)
            raise PinwardenError(f"{name}=={version} is not pinned in {where}")
        keys.append(matches[0].key)
    wanted = set(keys)
    chosen = [replace(lock, releases=tuple(r for r in lock.releases if r.key in wanted)) for lock in locks]
    person = who(project_dir or Path.cwd())  # before any request: fail early
    outcome, _ = _audited(chosen, store, command, err, fetcher=fetcher, late_upload_days=late_upload_days)
    result = outcome.result
    for error in result.errors:
        err.write(f"pinwarden: error: {error}\n")
    if result.errors:
        err.write("pinwarden: error: the index could not be asked; nothing was acknowledged\n")
        return 2
    at = utc_now()
    records = [a for key in keys if (a := acknowledge(result.findings, key, by=person, at=at, reason=reason))]
    if records:
        baselines = BaselineStore(outcome.baseline_path)
        with baselines.locked():
            current = baselines.load()
            for record in records:
                current = current.with_acknowledgment(record)
            baselines.save(current)
    for record in records:
        out.write(f"pinwarden: {record.project}=={record.version}: acknowledged by {person} ({at}):\n")
        out.writelines(
            f"  {s.kind:<13} {s.file or ''}{'  ' + s.hash if s.hash else ''}\n".replace(" \n", "\n")
            for s in record.subjects
        )
    for key in keys:
        if not any(r.key == key for r in records):
            out.write(f"pinwarden: {key[0]}=={key[1]}: nothing the index reports to acknowledge\n")
    rest = [f for f in result.findings if f.key in wanted and not acknowledgeable(f)]
    if rest:
        table = finding_resolutions(rest, command.prog, command.lock_args)
        out.write("pinwarden: not ended by an acknowledgment:\n")
        out.writelines(f"  {f.kind.value:<13} {f.project} {f.version} {f.filename or ''}\n" for f in rest)
        out.writelines(line + "\n" for line in advice_lines(rest, table)[1:])
    if records:
        out.write(f"pinwarden: recorded in {outcome.baseline_path} (commit it; it grants no trust)\n")
        return 0
    return 1


def _report(
    outcome: AuditOutcome,
    store: LedgerStore,
    command: AuditCommand,
    out: TextIO,
    err: TextIO,
    *,
    requests: int,
) -> int:
    from .render import audit_summary, findings_json, findings_text

    result = outcome.result
    if command.format == "json":
        out.write(
            findings_json(
                result.findings,
                finding_resolutions(result.findings, command.prog, command.lock_args),
                errors=list(result.errors),
                ledger=str(store.path),
                baseline=str(outcome.baseline_path),
                recorded=[{"project": name, "version": version} for name, version in result.recorded],
                requests=requests,
            )
            + "\n"
        )
    elif result.findings:
        out.write(
            findings_text(
                result.findings,
                ledger_path=str(store.path),
                approve_prefix=f"{command.prog} approve",
                lock_args=command.lock_args,
                advice=audit_advice(
                    [f for f in result.findings if f.blocking], command.prog, command.lock_args
                ),
            )
        )
    if command.format != "json":
        out.write(
            audit_summary(
                releases=outcome.releases,
                pages=outcome.pages,
                requests=requests,
                findings=sum(f.blocking for f in result.findings),
                recorded=len(result.recorded) if outcome.baseline_written else 0,
                baseline=str(outcome.baseline_path),
                errors=len(result.errors),
            )
        )
    for error in result.errors:
        err.write(f"pinwarden: error: {error}\n")
    if result.errors:
        err.write(f"pinwarden: error: {result.not_audited} locked version(s) could not be audited\n")
        return 2
    return 1 if any(f.blocking for f in result.findings) else 0  # information never fails it


def audit_advice(findings: Sequence[Finding], prog: str, lock_args: str) -> list[str]:
    """What to run next, per finding kind: the command that ends it (resolve.py)."""
    from .resolve import advice_lines

    return advice_lines(findings, finding_resolutions(findings, prog, lock_args))


def finding_resolutions(findings: Sequence[Finding], prog: str, lock_args: str) -> dict[Finding, Resolution]:
    from .resolve import resolutions

    return resolutions(findings, prog=prog, lock_args=lock_args, relock=relock_command)


def relock_command(lockfile: str, cwd: Path | None = None) -> str:
    """The command that rebuilds a lock: `poetry lock`, or the pip-compile command its header
    names, run through pinwarden's wrapper."""
    path = Path(lockfile)
    if path.name == "poetry.lock":
        return "poetry lock"
    if path.name == "uv.lock":
        return "pinwarden uv lock"  # uv through pinwarden's guard
    head = _head(path, cwd)
    from .locks import is_pylock_name

    if is_pylock_name(path.name):
        return _pylock_command(head, lockfile)
    for line in head.splitlines():
        text = line.lstrip("#").strip()
        if text.startswith("pip-compile "):
            return f"pinwarden {text}"
        if text.startswith("pinwarden pip-compile "):
            return text
    return f"pinwarden pip-compile --generate-hashes --output-file={lockfile} (your inputs)"


def _pylock_command(head: str, lockfile: str) -> str:
    """`uv export` names itself in the header it writes; `pip lock` writes none."""
    for line in head.splitlines():
        text = line.lstrip("#").strip()
        if text.startswith("uv export "):
            return f"pinwarden {text}"
        if text.startswith("pinwarden uv export "):
            return text
    return f"pip lock (your inputs) --output {lockfile}"


def _head(path: Path, cwd: Path | None) -> str:
    try:
        return (Path(cwd or Path.cwd()) / path).read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return ""


def approval_indexes(name: str, locks: Sequence[LockFile], project_dir: Path) -> tuple[str, ...]:
    """`approve NAME==VERSION --from-index` without a URL: see sources.indexes_for_project."""
    from .index.sources import indexes_for_project, poetry_sources
    from .toml import load_toml

    pyproject = project_dir / "pyproject.toml"
    sources: tuple[PoetrySource, ...] = ()
    if pyproject.is_file():
        sources = poetry_sources(
            load_toml(read_text(pyproject, "pyproject.toml"), str(pyproject), "pyproject.toml")
        )
    return indexes_for_project(name, locks, index_options(None, ()), sources)
