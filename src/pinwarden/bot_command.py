"""`pinwarden accept-first-use --base REV`: the dependency-bot path, from the checkout to the commit.

The rules are shared/bot.py's; this is the edge that gathers what they judge: git (the merge base
of the pull request, the ledger and `[tool.pinwarden]` there), the locks, the indexes (pages, then
every file to hash), and finally the ledger write under its lock and the commit. The cheap, offline
rules run first: a pull request that edits trust, or a lock that names a new index, is refused
before any request is made, so a hostile pull request cannot even choose whom pinwarden asks.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .shared import bot
from .shared.errors import PinwardenError
from .shared.model import LockedRelease, LockFile, NormalizedName, TrustHow

if TYPE_CHECKING:
    from .shared.git import Revision
    from .shared.index.client import HttpClient
    from .shared.index.pages import PageResult
    from .shared.index.simple import IndexFile
    from .shared.ledger import Ledger
    from .shared.store import LedgerStore

EXIT_OK, EXIT_REFUSED = 0, 1
REASON = "dependency bot pull request: no warning sign, every locked hash verified from the index"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base",
        required=True,
        metavar="GIT-REV",
        help="the branch the pull request targets (e.g. origin/main); the pull request's changes "
        "are those since it branched off (git merge-base)",
    )
    parser.add_argument(
        "--commit",
        action="store_true",
        help="commit the ledger to the current branch (one commit, the ledger only; pushing is left "
        "to the workflow); default: only write it",
    )


DESCRIPTION = """\
Run on the checkout of a dependency bot's pull request (Dependabot, Renovate) that bumps versions.
Records first use of the NEW versions in the ledger only when all of these hold:
  - the pull request does not edit the ledger (its bytes, its place, symlinks on its path) nor
    [tool.pinwarden] in pyproject.toml, compared with where it branched off --base;
  - 'pinwarden check' finds nothing but new-version (no trusted file changed, added or removed;
    no build tag, local version, direct URL, weak hash, filename mismatch); first-use = "trust";
  - each new version is looked up only on indexes its lock named at the base revision;
  - where and how the installer fetches is as at the base revision: option lines of a
    requirements file, [[tool.poetry.source]], poetry.toml; each uv.lock or pylock.toml
    package's index or source, the indexes and file hosts these locks name, [tool.uv]'s fetch
    and build settings (root and local projects) and uv.toml (also with nothing new to record);
  - the index shows no warning sign for it (late upload, late sdist, yank, shape change, project
    recreated);
  - every hash the lock holds for it matches the bytes pinwarden downloads from the index and
    hashes itself.
Otherwise it prints every reason and writes nothing. The ledger is written atomically under its
file lock; with --commit it is committed (alone) to the current branch.

exit codes: 0 recorded (or nothing new to record), 1 refused (nothing written), 2 error (bad
input, not a git work tree, unreachable index, failed download or commit; nothing written)."""


@dataclass(frozen=True, slots=True)
class _Found:
    """What the indexes gave for the new versions."""

    files: Mapping[NormalizedName, tuple[IndexFile, ...]]  # project -> every file its indexes list
    served: Mapping[tuple[str, str], list[tuple[IndexFile, str]]]  # version -> (file, index)
    reasons: list[bot.Reason]


def run(args: argparse.Namespace, out: TextIO, context: Any) -> int:
    """`context`: cli._context, passed in so this module never imports the CLI."""
    from .shared.compare import compare
    from .shared.git import current_branch, merge_base, revision, work_tree
    from .shared.store import load_settings, read_text

    top = work_tree(Path.cwd())
    ctx = context(args, args.locks)
    if not ctx.ledger.exists():
        raise PinwardenError(
            f"{ctx.ledger.path}: no ledger; a bot's pull request cannot start one ('pinwarden init')"
        )
    if args.commit and current_branch(top) is None:
        raise PinwardenError("--commit: HEAD is detached; check out the pull request's branch (its head ref)")
    base = merge_base(top, args.base)
    settings, _ = load_settings(Path.cwd())
    judged_text = read_text(ctx.ledger.target, "ledger")
    reasons = _pull_request_reasons(args, ctx.ledger, base, revision(top, args.base), top)
    # Where and how the installer fetches binds a pull request even when it brings nothing new.
    reasons += fetch_reasons(ctx.locks, base)
    ledger = ctx.ledger.load()
    findings = compare(ledger, ctx.releases, settings.lock_rules())
    if not findings and not reasons:
        out.write(f"pinwarden: nothing new to record: every locked version is trusted ({ctx.ledger.path})\n")
        return EXIT_OK
    reasons += bot.trust_reasons(findings, ctx.releases, settings.first_use)
    fresh = bot.new_versions(findings, ctx.releases)
    targets = _targets(ctx.locks, fresh, base)
    for release, (indexes, known) in targets.items():
        reasons += bot.index_reasons(release, indexes, known)
    if reasons:  # offline refusals: no request to an index this pull request may have chosen
        return _refuse(out, reasons)
    found = _ask_indexes(args, ctx.locks, targets)
    reasons = found.reasons + bot.sign_reasons(
        _signs(ledger, fresh, findings, found, settings.late_upload_days)
    )
    reasons += _hash_reasons(args, ctx.locks, fresh, found)
    if reasons:
        return _refuse(out, reasons)
    return _record(args, out, store=ctx.ledger, fresh=fresh, judged_text=judged_text, top=top)


def _refuse(out: TextIO, reasons: Sequence[bot.Reason]) -> int:
    out.write(
        f"pinwarden: refused: {len(reasons)} reason(s) this pull request needs a person; "
        "nothing was written\n"
    )
    out.writelines(reason.line() + "\n" for reason in reasons)
    out.write("Review the pull request, then record what it brings: pinwarden approve NAME==VERSION\n")
    return EXIT_REFUSED


# ---------------------------------------------------------------------------------------------
# Rule 1: the pull request leaves trust as it was


def _pull_request_reasons(
    args: argparse.Namespace, store: LedgerStore, base: Revision, tip: Revision, top: Path
) -> list[bot.Reason]:
    from .shared.ledger_diff import ledger_move
    from .shared.store import ledger_path, load_settings, read_text, resolve_in_work_tree

    cwd = Path.cwd()
    settings, project = load_settings(cwd)
    old_settings = _setting_at(base, project / "pyproject.toml", cwd)
    anchors = list(args.locks)
    old_path = store.path if args.ledger is not None else ledger_path(None, old_settings, project, anchors)
    old_found, old_text = base.read(old_path, cwd)
    now = resolve_in_work_tree(store.path, top, cwd)
    reasons: list[bot.Reason] = []
    what = "pull request"
    if ledger_move(
        old_settings.ledger,
        settings.ledger,
        old_ledger=old_found.file,
        new_ledger=now.file,
        old_links=old_found.links,
        new_links=now.links,
    ):
        reasons.append(
            bot.Reason(what, str(store.path), f"moves the ledger (from {old_found.file} to {now.file})")
        )
    elif old_text is None:
        reasons.append(
            bot.Reason(what, str(store.path), f"no ledger at {base.short()}: it comes with the pull request")
        )
    elif read_text(store.target, "ledger") != old_text:
        reasons.append(bot.Reason(what, str(store.path), f"edits the ledger (compared with {base.short()})"))
    # Against the merge base (the pull request's own edit) and the base branch now (a setting made
    # stricter there since, such as first-use = "ask", binds the pull request before it is merged).
    table = _tool_table(None, project / "pyproject.toml", cwd)
    for rev in (base, tip) if tip.commit != base.commit else (base,):
        if _tool_table(rev, project / "pyproject.toml", cwd) != table:
            reasons.append(bot.Reason(what, "pyproject.toml", f"[tool.pinwarden] differs from {rev.short()}"))
    return reasons


def _setting_at(rev: Revision, pyproject: Path, cwd: Path) -> Any:
    from .shared.config import Settings, parse_settings

    _, text = rev.read(pyproject, cwd)
    return Settings() if text is None else parse_settings(text, f"{rev.name}:pyproject.toml")


def _tool_table(rev: Revision | None, pyproject: Path, cwd: Path) -> object:
    """`[tool.pinwarden]` as written (None: absent), at the revision or in the work tree."""
    return _tool(rev, pyproject, cwd).get("pinwarden")


def _tool(rev: Revision | None, pyproject: Path, cwd: Path) -> dict[str, Any]:
    """pyproject.toml's `[tool]` table ({}: absent), at the revision or in the work tree."""
    from .shared.store import read_text
    from .shared.toml import load_toml

    if rev is None:
        text = read_text(pyproject, "pyproject.toml") if pyproject.is_file() else None
    else:
        text = rev.read(pyproject, cwd)[1]
    if text is None:
        return {}
    tool = load_toml(text, str(pyproject), "pyproject.toml").get("tool", {})
    return tool if isinstance(tool, dict) else {}


# ---------------------------------------------------------------------------------------------
# Rule 3: only indexes the lock named at the base revision


def _targets(
    locks: Sequence[LockFile], fresh: Sequence[LockedRelease], base: Revision
) -> dict[LockedRelease, tuple[tuple[str, ...], frozenset[str] | None]]:
    """Per new version: the indexes it is looked up on now, and those its lock named at base."""
    from .shared.auditing import index_options
    from .shared.index.sources import target_of

    options = index_options(None, ())
    cwd = Path.cwd()
    result: dict[LockedRelease, tuple[tuple[str, ...], frozenset[str] | None]] = {}
    for lock in locks:
        mine = [r for r in lock.releases if r in fresh]
        if not mine:
            continue
        known = _indexes_at(base, lock, cwd, options)
        for release in mine:
            target = target_of(release, lock, options)
            result[release] = (target.indexes if target else (), known)
    return result


def _indexes_at(base: Revision, lock: LockFile, cwd: Path, options: Any) -> frozenset[str] | None:
    from .shared.index.sources import target_of

    old = _lock_at(base, lock, cwd)
    if old is None:
        return None
    return frozenset(i for r in old.releases if (t := target_of(r, old, options)) for i in t.indexes)


def _lock_at(base: Revision, lock: LockFile, cwd: Path) -> LockFile | None:
    from .shared.locks import parse_lock_bytes

    _, text = base.read(Path(lock.path), cwd)
    if text is None:
        return None
    return parse_lock_bytes(text.encode("utf-8"), f"{base.name}:{lock.path}", name=Path(lock.path).name)


# The files beside a Poetry lock that say where and how Poetry fetches: a source's URL is looked up
# by its name in pyproject.toml, not in poetry.lock, and poetry.toml can add repositories or force
# builds from source (whose build dependencies no hash pins).
_POETRY_FETCH = "tool.poetry.source"


def fetch_reasons(locks: Sequence[LockFile], base: Revision) -> list[bot.Reason]:
    """Rule 3, the installer's side: the pull request leaves where and how the installer fetches as
    it was. pip and Poetry check every locked file against its hash, but not what they install to
    build an sdist: a pull request that adds --find-links, --no-binary, or points a Poetry source at
    another URL would choose who serves that code."""
    cwd = Path.cwd()
    reasons: list[bot.Reason] = []
    for lock in locks:
        if lock.format == "poetry.lock":
            reasons += _poetry_fetch_reasons(base, (cwd / lock.path).parent, cwd)
            continue
        old = _lock_at(base, lock, cwd)
        if lock.format in bot.NEW_FETCH_FORMATS:
            reasons += bot.source_reasons(lock, old, base.short())
            continue
        if old is not None and old.options != lock.options:
            changed = sorted(set(lock.options) ^ set(old.options))
            what = ", ".join(_option_text(o) for o in changed) or "their order"
            reasons.append(
                bot.Reason(
                    "pull request",
                    lock.path,
                    f"changes pip's options since {base.short()} (where or how pip fetches): {what}",
                )
            )
    directories = dict.fromkeys(
        d for lock in locks if lock.format != "poetry.lock" for d in _uv_projects(lock, cwd, Path(base.top))
    )
    for directory in directories:
        reasons += _uv_fetch_reasons(base, directory, cwd)
    return reasons


def _uv_projects(lock: LockFile, cwd: Path, top: Path) -> list[Path]:
    """The directories whose `[tool.uv]` uv reads for this lock: the lock's own, and for a uv.lock
    each local project it locks in the repository (workspace members, path dependencies), whose
    sources and indexes uv takes too (and whose uv.toml uv reads when run there). One outside the
    repository is no pull request's to edit."""
    import os

    from .shared.model import SourceKind

    home = (cwd / lock.path).parent
    found = [home]
    if lock.format != "uv.lock":
        return found
    for release in lock.releases:
        place = release.source_url
        if release.source_kind is SourceKind.DIRECTORY and place and not place.startswith("/"):
            project = Path(os.path.normpath(home / place))
            if project != home and project.is_relative_to(top):
                found.append(project)
    return found


def _option_text(option: tuple[str, str]) -> str:
    return f"{option[0]} {option[1]}".strip()


def _poetry_fetch_reasons(base: Revision, project: Path, cwd: Path) -> list[bot.Reason]:
    from .shared.store import read_text

    reasons: list[bot.Reason] = []
    if _poetry_sources(None, project / "pyproject.toml", cwd) != _poetry_sources(
        base, project / "pyproject.toml", cwd
    ):
        reasons.append(
            bot.Reason(
                "pull request", "pyproject.toml", f"[[tool.poetry.source]] differs from {base.short()}"
            )
        )
    local = project / "poetry.toml"
    now = read_text(local, "poetry.toml") if local.exists() or local.is_symlink() else None
    if now != base.read(local, cwd)[1]:
        reasons.append(
            bot.Reason("pull request", "poetry.toml", f"differs from {base.short()} (Poetry's settings)")
        )
    return reasons


def _uv_fetch_reasons(base: Revision, project: Path, cwd: Path) -> list[bot.Reason]:
    """uv's settings beside a lock uv may write or install from (uv.lock, pylock.toml, requirements
    files uv pip compiles): `[tool.uv]`'s fetch settings in pyproject.toml, and uv.toml."""
    from .shared.store import read_text

    pyproject = project / "pyproject.toml"
    old, new = (_uv_table(rev, pyproject, cwd) for rev in (base, None))
    reasons = bot.uv_setting_reasons(old, new, _shown(pyproject, cwd), base.short())
    local = project / "uv.toml"
    now = read_text(local, "uv.toml") if local.exists() or local.is_symlink() else None
    if now != base.read(local, cwd)[1]:
        reasons.append(
            bot.Reason("pull request", _shown(local, cwd), f"differs from {base.short()} (uv's settings)")
        )
    return reasons


def _uv_table(rev: Revision | None, pyproject: Path, cwd: Path) -> dict[str, Any]:
    uv = _tool(rev, pyproject, cwd).get("uv")
    return uv if isinstance(uv, dict) else {} if uv is None else {"(not a table)": uv}


def _shown(path: Path, cwd: Path) -> str:
    import os

    return os.path.relpath(path, cwd)


def _poetry_sources(rev: Revision | None, pyproject: Path, cwd: Path) -> object:
    poetry = _tool(rev, pyproject, cwd).get("poetry")
    return poetry.get("source") if isinstance(poetry, dict) else None


# ---------------------------------------------------------------------------------------------
# Rules 4 and 5: the index, then the bytes


def _client(args: argparse.Namespace, locks: Sequence[LockFile]) -> HttpClient:
    from .shared.auditing import MAX_JOBS, MAX_TIMEOUT, poetry_source_credentials
    from .shared.index.client import ClientSettings, HttpClient, usable_cache_dir

    if not 1 <= args.jobs <= MAX_JOBS:
        raise PinwardenError(f"--jobs must be from 1 to {MAX_JOBS}, found {args.jobs}")
    if not 0 < args.timeout <= MAX_TIMEOUT:
        raise PinwardenError(f"--timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    return HttpClient(
        ClientSettings(
            timeout=args.timeout,
            jobs=args.jobs,
            cache_dir=usable_cache_dir(),
            credentials=poetry_source_credentials(locks),
        )
    )


def _ask_indexes(
    args: argparse.Namespace,
    locks: Sequence[LockFile],
    targets: Mapping[LockedRelease, tuple[tuple[str, ...], frozenset[str] | None]],
) -> _Found:
    """Every project page; an index that cannot answer is an error (exit 2), never a pass."""
    from .shared.index.client import fetch_pages
    from .shared.index.pages import Failed, Page

    wanted = [(index, r.name) for r, (indexes, _) in targets.items() for index in indexes]
    with _client(args, locks) as client:
        pages = fetch_pages(client.fetch_page, wanted, jobs=args.jobs)
    failed = sorted({str(p) for p in pages.values() if isinstance(p, Failed)})
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise PinwardenError(f"cannot ask the index: {failed[0]}{more}; nothing was written")
    files: dict[NormalizedName, tuple[IndexFile, ...]] = {}
    served: dict[tuple[str, str], list[tuple[IndexFile, str]]] = {}
    reasons: list[bot.Reason] = []
    for release, (indexes, _) in targets.items():
        found = [(index, p) for index in indexes if isinstance(p := pages[(index, release.name)], Page)]
        files[release.name] = tuple(f for _, page in found for f in page.files)
        served[release.key] = _version_files(release, found)
        if not found:
            reasons.append(bot.Reason("index", release.name, f"not found on {', '.join(indexes)}"))
        elif not served[release.key]:
            reasons.append(
                bot.Reason("index", f"{release.name} {release.version}", "no file of this version is served")
            )
    return _Found(files=files, served=served, reasons=reasons)


def _version_files(
    release: LockedRelease, pages: Sequence[tuple[str, PageResult]]
) -> list[tuple[IndexFile, str]]:
    from .shared.index.pages import Page
    from .shared.signs import of_version

    locked = {f.filename for f in release.files if f.filename}
    return [
        (file, index)
        for index, page in pages
        if isinstance(page, Page)
        for file in page.files
        if file.filename in locked or of_version(file.filename, release.name, release.version)
    ]


def _signs(
    ledger: Ledger, fresh: Sequence[LockedRelease], findings: Sequence[Any], found: _Found, days: int
) -> Sequence[Any]:
    from .shared.audit import signs_for_review

    return signs_for_review(ledger, fresh, findings, found.files, late_upload_days=days)


def _hash_reasons(
    args: argparse.Namespace, locks: Sequence[LockFile], fresh: Sequence[LockedRelease], found: _Found
) -> list[bot.Reason]:
    """Download and hash every file rule 5 needs, `--jobs` at a time; a failed download is an error."""
    plan = [(r, f, i) for r in fresh for f, i in bot.files_to_hash(r, found.served.get(r.key, []))]
    with _client(args, locks) as client:

        def one(item: tuple[LockedRelease, IndexFile, str]) -> bot.Download:
            release, file, index = item
            computed = client.download_digests(
                file.url, bot.algorithms_for(release, file), index=index, size=file.size
            )
            return bot.Download(file=file, index=index, computed=computed)

        from concurrent.futures import ThreadPoolExecutor

        from .shared.index.client import IndexUnavailable

        try:
            with ThreadPoolExecutor(max_workers=max(1, min(args.jobs, len(plan) or 1))) as pool:
                downloads = list(pool.map(one, plan))
        except IndexUnavailable as exc:
            raise PinwardenError(f"cannot verify a locked hash: {exc}; nothing was written") from None
    reasons: list[bot.Reason] = []
    for release in fresh:
        mine = [d for (r, _, _), d in zip(plan, downloads, strict=True) if r is release]
        reasons += bot.hash_reasons(release, mine)
    return reasons


# ---------------------------------------------------------------------------------------------
# Writing


def _record(
    args: argparse.Namespace,
    out: TextIO,
    *,
    store: LedgerStore,
    fresh: Sequence[LockedRelease],
    judged_text: str,
    top: Path,
) -> int:
    from .shared.git import commit_only
    from .shared.store import atomic_write, read_text, utc_now
    from .shared.trust import record

    names = ", ".join(sorted({f"{r.name}=={r.version}" for r in fresh}))
    with store.locked():
        if read_text(store.target, "ledger") != judged_text:
            raise PinwardenError(
                f"{store.path}: changed while it was being judged; nothing was written, run again"
            )
        store.save(record(store.load(), fresh, how=TrustHow.FIRST_USE, at=utc_now(), reason=REASON))
        if args.commit:
            message = _message(fresh, args.base)
            try:
                commit = commit_only(top, store.target, message)
            except PinwardenError as exc:
                atomic_write(store.target, judged_text)  # the ledger as it was: nothing written
                raise PinwardenError(f"{exc}; the ledger was restored") from None
    versions = len({r.key for r in fresh})
    out.write(f"pinwarden: first use recorded for {versions} version(s): {names}; ledger {store.path}\n")
    if args.commit:
        out.write(f"pinwarden: committed {commit}: {message.splitlines()[0]}\n")
    return EXIT_OK


def _message(fresh: Sequence[LockedRelease], base: str) -> str:
    keys = sorted({r.key for r in fresh})
    listed = ", ".join(f"{name} {version}" for name, version in keys)
    subject = (
        f"pinwarden: trust first use of {listed}"
        if len(keys) <= 3
        else f"pinwarden: trust first use of {len(keys)} versions"
    )
    body = "\n".join(f"- {name}=={version}" for name, version in keys)
    return (
        f"{subject}\n\nRecorded by `pinwarden accept-first-use --base {base}` on a dependency bot's\n"
        "pull request:"
        " it edits neither the ledger nor [tool.pinwarden], nothing trusted changed, the\n"
        "index shows no warning sign, and every locked hash matches the bytes pinwarden downloaded.\n\n"
        f"{body}\n"
    )
