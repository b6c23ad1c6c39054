"""`make demo`: pinwarden's story on an embedded sample project, nothing to configure.

Each step says in one line what happens and why it matters, then runs the real `pinwarden`
command. The demo checks its own expectations and exits non-zero if any step surprised it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "sample"
BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def step(title: str, why: str) -> None:
    print(f"\n{BOLD}== {title}{RESET}\n{DIM}   {why}{RESET}", flush=True)


def pinwarden(workdir: Path, *args: str, expect: int) -> str:
    command = [sys.executable, "-m", "pinwarden", *args]
    print(f"$ pinwarden {' '.join(args)}", flush=True)
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    print(output.rstrip() + f"\n{DIM}(exit code {result.returncode}){RESET}", flush=True)
    if result.returncode != expect:
        raise SystemExit(f"demo: expected exit code {expect} from 'pinwarden {' '.join(args)}'")
    return output


def tamper(lock: Path) -> None:
    """What a re-lock against a changed index writes: new bytes for a trusted sdist, a late wheel."""
    text = lock.read_text()
    old = re.search(r'"rich-12\.4\.0\.tar\.gz", hash = "sha256:([0-9a-f]{64})"', text)
    assert old is not None, "the sample lock changed; update the demo"
    text = text.replace(old.group(1), "6" * 64)
    wheel = '{file = "rich-12.4.0-py3-none-any.whl", hash'
    late = '{file = "rich-12.4.0-1-py3-none-any.whl", hash = "sha256:' + "b" * 64 + '"},\n    '
    lock.write_text(text.replace(wheel, late + wheel, 1))


def main() -> int:
    keep = os.environ.get("PINWARDEN_DEMO_DIR")
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="pinwarden-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SAMPLE / "poetry.lock", workdir / "poetry.lock")
    (workdir / "pinwarden-ledger.toml").unlink(missing_ok=True)
    print(f"pinwarden demo in {workdir} (a copy of a real poetry.lock: rich-cli's, 20 packages)")

    step("1. Adopt the project", "init trusts what the lock holds today, like ssh's first connection.")
    pinwarden(workdir, "init", expect=0)
    print(f"{DIM}   head of the ledger, to be committed beside the lock:{RESET}")
    print("\n".join((workdir / "pinwarden-ledger.toml").read_text().splitlines()[:12]))

    step("2. Check, offline", "what CI and pre-commit run: every locked hash is one the ledger trusts.")
    pinwarden(workdir, "check", expect=0)

    step(
        "3. The index changes under a locked version",
        "rich 12.4.0's sdist now has other bytes and a build-tagged wheel appears;"
        " a re-lock writes both, silently.",
    )
    tamper(workdir / "poetry.lock")
    pinwarden(workdir, "check", expect=1)

    step("4. The same, for machines", "--format json gives CI one record per finding.")
    pinwarden(workdir, "check", "--format", "json", expect=1)

    step(
        "5. A person reviews and approves",
        "approval is explicit, recorded with a reason, and visible in the ledger's diff.",
    )
    pinwarden(workdir, "approve", "rich==12.4.0", "--reason", "demo: rebuilt upstream, verified", expect=0)
    pinwarden(workdir, "check", expect=0)
    pinwarden(workdir, "show", "rich", expect=0)

    print(f"\n{BOLD}demo finished: every step behaved as expected.{RESET}")
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
