"""The `signs` section of benchmarks/run.py: how often real release pairs raise a blocking question.

For each of the 300 projects recorded in ../shared/corpus/simple (PyPI's pages, with upload times),
its last 12 final releases give up to 11 consecutive pairs (3,176 in all). Each pair is replayed as a
`poetry update` would meet it: the older version trusted with every file it has, the newer one locked
with every file it has, and the review's signs read from the recorded page (audit.signs_for_review),
then planned as the Poetry plugin and the pip-compile wrapper plan them (decide.plan). A pair is
blocking when the plan asks a person a question. Goal: at most 0.5% of pairs.
"""

from __future__ import annotations

import gzip
import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pinwarden.shared.audit import signs_for_review  # noqa: E402
from pinwarden.shared.compare import compare  # noqa: E402
from pinwarden.shared.decide import plan  # noqa: E402
from pinwarden.shared.filenames import parse_filename, version_key  # noqa: E402
from pinwarden.shared.index.simple import IndexFile, parse_json_page  # noqa: E402
from pinwarden.shared.ledger import Ledger  # noqa: E402
from pinwarden.shared.model import (  # noqa: E402
    Finding,
    FindingKind,
    LockedFile,
    LockedRelease,
    NormalizedName,
    TrustedFile,
    TrustedRelease,
    TrustEvent,
    TrustHow,
    canonical_version,
)


def find_corpus() -> Path:
    """../shared/corpus/simple beside the project (a worktree may sit one level deeper);
    PINWARDEN_CORPUS names another corpus folder."""
    named = os.environ.get("PINWARDEN_CORPUS")
    if named:
        return Path(named) / "simple"
    for parent in ROOT.parents[:2]:
        if (parent / "shared" / "corpus" / "simple").is_dir():
            return parent / "shared" / "corpus" / "simple"
    return ROOT.parent / "shared" / "corpus" / "simple"


CORPUS = find_corpus()
GOAL = 0.005
LAST = 12  # releases per project: the ones a team updating now meets
TRUSTED_AT = "2026-11-25T00:00:00Z"  # the day the corpus was recorded


@dataclass(frozen=True, slots=True)
class Pair:
    project: str
    old: str
    new: str
    blocking: tuple[Finding, ...]  # what the question holds (empty: none asked)
    signs: tuple[Finding, ...]  # every sign found, blocking or not


def versions(project: NormalizedName, files: Sequence[IndexFile]) -> dict[str, list[IndexFile]]:
    by_version: dict[str, list[IndexFile]] = {}
    for file in files:
        parsed = parse_filename(file.filename)
        if parsed.version is None or parsed.name != project:  # cffi-1.0.2-2.tar.gz is not cffi 2's
            continue
        try:
            by_version.setdefault(canonical_version(parsed.version), []).append(file)
        except ValueError:
            continue
    return by_version


def final_releases(by_version: dict[str, list[IndexFile]]) -> list[str]:
    """The last 12 final releases; a wholly yanked one is left out, as installers leave it out
    (PEP 592): an update never lands on it, and an audit reports its yank on its own."""
    from packaging.version import Version

    finals = [
        v
        for v in by_version
        if not Version(v).is_prerelease and not all(f.yanked is not False for f in by_version[v])
    ]
    return sorted(finals, key=version_key)[-LAST:]


def replay(
    project: NormalizedName,
    old: str,
    new: str,
    by_version: dict[str, list[IndexFile]],
    page: Sequence[IndexFile],
) -> Pair:
    """`new` locked where `old` was trusted: the review's signs, then the plan's questions."""
    trusted = TrustedRelease(
        name=project,
        version=old,
        files=tuple(
            TrustedFile(filename=f.filename, hashes=f.hashes[:1]) for f in by_version[old] if f.hashes
        ),
        history=(TrustEvent(how=TrustHow.FIRST_USE, at=TRUSTED_AT),),
    )
    ledger = Ledger({trusted.key: trusted})
    locked = LockedRelease(
        name=project,
        version=new,
        files=tuple(LockedFile(filename=f.filename, hash=f.hashes[0]) for f in by_version[new] if f.hashes),
        lockfile="poetry.lock",
    )
    findings = list(compare(ledger, [locked]))
    found = signs_for_review(ledger, [locked], findings, {project: page})
    the_plan = plan([*findings, *found])
    asked = tuple(f for q in the_plan.questions for f in q.findings)
    return Pair(project, old, new, asked, tuple(found))


def pairs(corpus: Path) -> Iterator[Pair]:
    for path in sorted(corpus.glob("*.json.gz")):
        page = parse_json_page(gzip.decompress(path.read_bytes()).decode(), "https://pypi.org/simple/")
        project = NormalizedName(path.name.removesuffix(".json.gz"))
        by_version = versions(project, page)
        finals = final_releases(by_version)
        for old, new in pairwise(finals):
            yield replay(project, old, new, by_version, page)


def bench_signs(corpus: Path = CORPUS) -> bool:
    print("signs: blocking questions on consecutive real release pairs (goal <= 0.5%)")
    if not corpus.is_dir():
        print(f"  skipped: no corpus at {corpus}")
        return True
    every = list(pairs(corpus))
    blocking = [p for p in every if p.blocking]
    by_sign: Counter[str] = Counter()
    blocking_by_sign: Counter[str] = Counter()
    for pair in every:
        by_sign.update({f.kind.value for f in pair.signs})
        blocking_by_sign.update(
            {f.kind.value for f in pair.blocking if f.kind is not FindingKind.NEW_VERSION}
        )
    share = len(blocking) / len(every) if every else 0.0
    print(f"  pairs: {len(every)}, blocking: {len(blocking)} ({share:.2%}), goal <= {GOAL:.1%}")
    kinds = ("late-upload", "sdist-added", "build-tag", "shape-change", "yanked", "project-recreated")
    for kind in sorted({*kinds, *by_sign}):
        print(
            f"  {kind:<18} reported on {by_sign[kind]:>4} pair(s), blocking on {blocking_by_sign[kind]:>4} "
            f"({blocking_by_sign[kind] / len(every):.2%})"
        )
    for pair in blocking:
        kinds = sorted({f.kind.value for f in pair.blocking if f.kind is not FindingKind.NEW_VERSION})
        print(f"    {pair.project} {pair.old} -> {pair.new}: {', '.join(kinds)}")
    return share <= GOAL


if __name__ == "__main__":
    sys.exit(0 if bench_signs() else 1)
