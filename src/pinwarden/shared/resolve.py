"""The command that ends each finding. Pure: the caller says how the locks are rebuilt.

Every finding kind has one way out that really ends it, and the reports print exactly that:
- a lock that differs from the ledger (any kind `check` reports): `approve NAME==VERSION`, which
  trusts what the lock holds; a changed file needs `--reason` too (the gravest finding);
- a weak or missing hash in the lock: no approval records a weak hash, so only a relock ends it;
- a trusted file the index now serves with other bytes: `approve --from-index --hash ... --replace
  --reason ...`, then a relock so the lock pins what is trusted;
- a fact of the index (a yank, a version or project gone, a file deleted or added upstream, a
  rewritten history): `acknowledge NAME==VERSION --reason ...`, or for a version gone, a relock;
- the signs read on a version the ledger never trusted end with its approval;
- a file on a host other than its index's (uv.lock, pylock.toml): no approval trusts a host, so a
  relock from the index ends it, or, for a host that is meant, `[tool.pinwarden] file-hosts`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .acknowledge import acknowledgeable, from_index
from .compare import untrusted_keys
from .model import Finding, FindingKind

WHY = '"WHY"'  # the reason a person writes; printed as a placeholder, never invented
Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Resolution:
    action: str  # "approve", "acknowledge" or "relock"
    commands: tuple[str, ...]  # run in order
    relock: tuple[str, ...] = ()  # then rebuild these locks
    alternative: tuple[str, ...] = ()  # another way that also ends it
    why_relock: str = "no approval records a weak hash"  # said when only a relock ends it

    def as_json(self) -> dict[str, object]:
        return {
            "action": self.action,
            "commands": [*self.commands, *self.relock],
            "or": list(self.alternative),
        }


def resolutions(
    findings: Sequence[Finding],
    *,
    prog: str,
    lock_args: str,
    relock: Callable[[str], str],
) -> dict[Finding, Resolution]:
    """Each finding's way out. `relock(lockfile)`: the command that rebuilds that lock."""
    suffix = f" {lock_args}" if lock_args else ""
    found: dict[Finding, Resolution] = {}
    for key in untrusted_keys(findings):
        group = [f for f in findings if (f.project, f.version) == key]
        spec = f"{key[0]}=={key[1]}"
        new_version = any(f.kind is FindingKind.NEW_VERSION for f in group)
        locked_changed = any(f.kind is FindingKind.CHANGED_FILE and not from_index(f) for f in group)
        reason = f" --reason {WHY}" if locked_changed else ""
        approve = Resolution("approve", (f"{prog} approve {spec}{suffix}{reason}",))
        relocks = tuple(dict.fromkeys(relock(lockfile) for f in group for lockfile in _lockfiles(f)))
        foreign = [f for f in group if f.kind is FindingKind.FOREIGN_HOST]
        if foreign:
            # Nothing of a version fetched from a foreign host is approved before its host is settled.
            for f in group:
                found[f] = _foreign_host(foreign[0], relocks)
            continue
        for f in group:
            if f.kind is FindingKind.WEAK_HASH and not from_index(f):
                found[f] = Resolution("relock", (), relocks)
            elif not from_index(f):
                found[f] = approve
            elif f.kind is FindingKind.CHANGED_FILE:
                # Bound to the changed files' served digests only: other news is settled apart.
                served = sorted({c.hash for c in group if c.kind is f.kind and from_index(c) and c.hash})
                binding = " ".join(f"--hash {digest}" for digest in served)
                command = f"{prog} approve {spec} --from-index {binding} --replace --reason {WHY}"
                found[f] = Resolution("approve", (command,), relocks)
            elif new_version and f.kind is not FindingKind.YANKED:
                found[f] = approve  # signs on a version never trusted end with its approval
            elif acknowledgeable(f):
                found[f] = _acknowledge(f, prog, spec, suffix, relocks)
            else:
                found[f] = approve
    return found


def _acknowledge(f: Finding, prog: str, spec: str, suffix: str, relocks: tuple[str, ...]) -> Resolution:
    command = (f"{prog} acknowledge {spec} --reason {WHY}{suffix}",)
    if f.kind in (FindingKind.VERSION_GONE, FindingKind.PROJECT_GONE, FindingKind.YANKED):
        return Resolution("acknowledge", command, (), relocks)  # or lock another version
    if f.kind is FindingKind.NEW_FILE and f.hash:
        approve = f"{prog} approve {spec} --from-index --hash {f.hash}"
        return Resolution("acknowledge", command, (), (approve, *relocks))
    return Resolution("acknowledge", command)


def _foreign_host(f: Finding, relocks: tuple[str, ...]) -> Resolution:
    import re

    named = re.match(r"fetched from (\S+) \(", f.detail or "")  # no host for one no parser reads alike
    host = named.group(1) if named else ""
    allow = f'add "{host}" to [tool.pinwarden] file-hosts in pyproject.toml, if the index hands files to it'
    return Resolution("relock", (), relocks, (allow,) if host else (), why_relock="no approval trusts a host")


def _lockfiles(finding: Finding) -> list[str]:
    return [part.strip() for part in finding.lockfile.split(",") if part.strip()]


_RANK = {"approve": 0, "acknowledge": 1, "relock": 2}


def advice_lines(findings: Sequence[Finding], table: Mapping[Finding, Resolution]) -> list[str]:
    """What to run, per version in report order, each command once."""
    lines = ["If these changes are expected, review them, then record them:"]
    alternatives: list[str] = []
    for key in untrusted_keys(findings):
        # Trust first, then acknowledge what the index says about it: one order whatever the report's.
        ordered = sorted(
            (f for f in findings if (f.project, f.version) == key), key=lambda f: _RANK[table[f].action]
        )
        for f in ordered:
            resolution = table[f]
            head = "then relock" if resolution.commands else f"relock ({resolution.why_relock})"
            wanted = [f"  {c}" for c in resolution.commands]
            wanted += [f"  {head}: {c}" for c in resolution.relock]
            lines += [line for line in wanted if line not in lines]
            for command in resolution.alternative:
                line = f"  or: {command}"
                if line not in alternatives:
                    alternatives.append(line)
    if alternatives:
        lines += ["Other ways to settle them (trust the new files, or lock another version):", *alternatives]
    return lines
