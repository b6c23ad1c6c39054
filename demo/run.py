"""`make demo`: pinwarden's story on embedded sample projects, nothing to configure.

Each step says in one line what happens and why it matters, then runs the real `pinwarden`
command. The demo checks its own expectations and exits non-zero if any step surprised it.
Nothing leaves 127.0.0.1: the Poetry, pip-compile and uv stories serve their own package index there.

A story is a function taking the `Demo`; add one to STORIES and its steps are numbered on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "sample"
sys.path.insert(0, str(HERE.parent))  # tests/support/index.py: the local package index of the tests

from tests.support.index import (  # noqa: E402
    PackageIndex,
    build_sdist,
    build_wheel,
    isolated_env,
    poetry_project,
)

BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


class Surprise(Exception):
    """A step did not do what the demo expects."""


@dataclass
class Demo:
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    steps: int = 0

    def step(self, title: str, why: str) -> None:
        self.steps += 1
        print(f"\n{BOLD}== {self.steps}. {title}{RESET}\n{DIM}   {why}{RESET}", flush=True)

    def fresh_dir(self, name: str) -> Path:
        """A story's own directory, emptied first (PINWARDEN_DEMO_DIR keeps it between runs)."""
        path = self.workdir / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def note(self, text: str) -> None:
        print(f"{DIM}   {text}{RESET}", flush=True)

    def pinwarden(self, cwd: Path, *args: str, expect: int) -> str:
        """Run `pinwarden ARGS` as a user would, nobody at the terminal; its output, checked for `expect`."""
        print(f"$ pinwarden {shlex.join(args)}", flush=True)
        result = subprocess.run(
            [sys.executable, "-m", "pinwarden", *args],
            cwd=cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        output = result.stdout + result.stderr
        print(output.rstrip() + f"\n{DIM}(exit code {result.returncode}){RESET}", flush=True)
        if result.returncode != expect:
            raise Surprise(f"expected exit code {expect} from 'pinwarden {shlex.join(args)}'")
        return output


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise Surprise(what)


# -- a poetry.lock ------------------------------------------------------------------------------------


def tamper(lock: Path) -> None:
    """What a re-lock against a changed index writes: new bytes for a trusted sdist, a late wheel."""
    text = lock.read_text()
    old = re.search(r'"rich-12\.4\.0\.tar\.gz", hash = "sha256:([0-9a-f]{64})"', text)
    if old is None:
        raise Surprise("the sample lock changed; update the demo")
    text = text.replace(old.group(1), "6" * 64)
    wheel = '{file = "rich-12.4.0-py3-none-any.whl", hash'
    late = '{file = "rich-12.4.0-1-py3-none-any.whl", hash = "sha256:' + "b" * 64 + '"},\n    '
    lock.write_text(text.replace(wheel, late + wheel, 1))


def poetry_lock_story(demo: Demo) -> None:
    work = demo.fresh_dir("poetry-project")
    shutil.copyfile(SAMPLE / "poetry.lock", work / "poetry.lock")
    print(f"\n{BOLD}A poetry.lock{RESET} (a copy of a real one: rich-cli's, 20 packages) in {work}")

    demo.step("Adopt the project", "init trusts what the lock holds today, like ssh's first connection.")
    demo.pinwarden(work, "init", expect=0)
    demo.note("head of the ledger, to be committed beside the lock:")
    print("\n".join((work / "pinwarden-ledger.toml").read_text().splitlines()[:12]))

    demo.step("Check, offline", "what CI and pre-commit run: every locked hash is one the ledger trusts.")
    demo.pinwarden(work, "check", expect=0)

    demo.step(
        "The index changes under a locked version",
        "rich 12.4.0's sdist now has other bytes and a build-tagged wheel appears;"
        " a re-lock writes both, silently.",
    )
    tamper(work / "poetry.lock")
    demo.pinwarden(work, "check", expect=1)

    demo.step("The same, for machines", "--format json gives CI one record per finding.")
    demo.pinwarden(work, "check", "--format", "json", expect=1)

    demo.step(
        "A person reviews and approves",
        "approval is explicit, recorded with a reason, and visible in the ledger's diff.",
    )
    demo.pinwarden(work, "approve", "rich==12.4.0", "--reason", "demo: rebuilt upstream, verified", expect=0)
    demo.pinwarden(work, "check", expect=0)
    demo.pinwarden(work, "show", "rich", expect=0)


# -- a pip-tools project --------------------------------------------------------------------------------

# Made-up names that cannot exist on PyPI: were anything to leak past the local index, it would fail.
GREETER, COLORS, UNITS = "pwdemo-greeter", "pwdemo-colors", "pwdemo-units"
REBUILT = build_wheel(GREETER, "1.0", build_tag=1, marker="rebuilt upstream", requires_dist=[COLORS])


def sample_index() -> PackageIndex:
    """greeter 1.0 (a wheel and an sdist) needs colors 2.0; units 0.3 is an sdist only."""
    index = PackageIndex()
    index.add(GREETER, "1.0", *build_wheel(GREETER, "1.0", requires_dist=[COLORS]))
    index.add(GREETER, "1.0", *build_sdist(GREETER, "1.0", requires_dist=[COLORS]))
    index.add(COLORS, "2.0", *build_wheel(COLORS, "2.0"))
    index.add(UNITS, "0.3", *build_sdist(UNITS, "0.3"))
    return index


def pip_compile_story(demo: Demo) -> None:
    work = demo.fresh_dir("pip-tools-project")
    (work / "requirements.in").write_text(f"{GREETER}\n{UNITS}\n")
    index = sample_index()
    with index.serve() as url:
        print(f"\n{BOLD}A pip-tools project{RESET} in {work}, its index served on {url}")
        # -q: pip-compile's own echo of the file is left out; --strip-extras: its 8.0 notice too.
        compile_args = ("pip-compile", "-q", "--strip-extras", "-i", url, "requirements.in")
        output, ledger = work / "requirements.txt", work / "pinwarden-ledger.toml"

        demo.step(
            "Compile with pinwarden",
            "pip-compile runs as usual; every hash it writes is trusted on first use, in the ledger.",
        )
        demo.pinwarden(work, *compile_args, expect=0)
        expect(ledger.is_file() and "--hash=sha256:" in output.read_text(), "no ledger or no hashes")

        demo.step(
            "Upstream adds a build-tagged wheel to greeter 1.0",
            "pip would install it instead of the wheel you locked; plain `pip-compile -U` writes"
            " its hash silently. pinwarden refuses, and says how to approve.",
        )
        index.add(GREETER, "1.0", *REBUILT)
        before = (output.read_bytes(), ledger.read_bytes())
        refused = demo.pinwarden(work, *compile_args[:2], "-U", *compile_args[2:], expect=1)
        expect((output.read_bytes(), ledger.read_bytes()) == before, "a refusal changed a file")
        approve = refused.rstrip().splitlines()[-1].strip()
        # Bound (--hash) to the file the report showed: the approval records that file only.
        bound = f"--hash sha256:{hashlib.sha256(REBUILT[1]).hexdigest()}"
        wanted = f"pinwarden approve {GREETER}==1 --from-index {url} {bound}"
        expect(approve == wanted, "no approve command")

        demo.step(
            "A person reviews, then runs the approve command it printed",
            "the ledger now trusts greeter 1.0's files as the index serves them.",
        )
        demo.pinwarden(work, *shlex.split(approve)[1:], expect=0)

        demo.step("Compile again", "the approved hash is written; everything else was trusted already.")
        demo.pinwarden(work, *compile_args[:2], "-U", *compile_args[2:], expect=0)
        text = output.read_text()
        expect(hashlib.sha256(REBUILT[1]).hexdigest() in text, "the approved wheel's hash was not written")
        expect(all(f"{name}==" in text for name in (GREETER, COLORS, UNITS)), "a pin went missing")


# -- a Poetry project, guarded by the plugin ----------------------------------------------------------

SHOUT = "pwdemo-shout"
SHOUT_REBUILT = build_wheel(SHOUT, "1.0", build_tag=1, marker="rebuilt upstream")


def poetry(demo: Demo, cwd: Path, *args: str, expect: int, cold: bool = False) -> str:
    """Run the real `poetry` (with pinwarden's plugin installed beside it), nobody at the terminal."""
    env = dict(demo.env)
    if cold:  # a fresh CI machine: Poetry re-reads the index instead of its cache
        env["POETRY_CACHE_DIR"] = tempfile.mkdtemp(dir=demo.workdir, prefix="cold-cache-")
    print(f"$ poetry {shlex.join(args)}", flush=True)
    tool = str(Path(sys.executable).with_name("poetry"))
    result = subprocess.run(
        [tool, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    output = (result.stdout + result.stderr).rstrip()
    print(output + f"\n{DIM}(exit code {result.returncode}){RESET}", flush=True)
    if result.returncode != expect:
        raise Surprise(f"expected exit code {expect} from 'poetry {shlex.join(args)}'")
    return output


def poetry_plugin_story(demo: Demo) -> None:
    work = demo.fresh_dir("poetry-plugin-project")
    index = PackageIndex()
    index.add(SHOUT, "1.0", *build_wheel(SHOUT, "1.0"))
    index.add(SHOUT, "1.0", *build_sdist(SHOUT, "1.0"))
    with index.serve() as url:
        poetry_project(work, url, [f"{SHOUT}>=1.0"])
        lock, ledger = work / "poetry.lock", work / "pinwarden-ledger.toml"
        print(f"\n{BOLD}A Poetry project{RESET} in {work}, its index served on {url}")

        demo.step(
            "Lock with Poetry", "the plugin trusts a version never seen before on first use, in the ledger."
        )
        poetry(demo, work, "lock", "-n", expect=0)
        expect(ledger.is_file(), "the first lock wrote no ledger")

        demo.step(
            "Upstream adds a build-tagged wheel to shout 1.0",
            "Poetry on a cold cache would write its hash silently and install it next; the plugin refuses.",
        )
        index.add(SHOUT, "1.0", *SHOUT_REBUILT)
        before = (lock.read_bytes(), ledger.read_bytes())
        poetry(demo, work, "lock", "-n", expect=1, cold=True)
        expect((lock.read_bytes(), ledger.read_bytes()) == before, "a refusal changed a file")

        demo.step(
            "The same change made without pinwarden",
            "`poetry --no-plugins lock` writes the newcomer; `pinwarden check`, in CI, catches it.",
        )
        poetry(demo, work, "--no-plugins", "lock", "-n", expect=0, cold=True)
        demo.pinwarden(work, "check", expect=1)

        demo.step("Audit the live index", "what the index serves now against the ledger, with warning signs.")
        demo.pinwarden(work, "audit", expect=1)

        demo.step(
            "A person approves",
            "through the project's own Poetry sources; the ledger records the approval and its reason.",
        )
        poetry(
            demo,
            work,
            "pinwarden",
            "approve",
            "--from-index",
            f"{SHOUT}==1.0",
            "--reason",
            "demo: reviewed",
            expect=0,
        )
        demo.pinwarden(work, "check", expect=0)
        expect('how = "approval"' in ledger.read_text(), "no approval recorded")


# -- a uv project, guarded by `pinwarden uv` ------------------------------------------------------------

LANTERN = "pwdemo-lantern"
LANTERN_REBUILT = build_wheel(LANTERN, "1.0", build_tag=1, marker="rebuilt upstream")


def uv_project(path: Path, index_url: str, dependencies: list[str]) -> None:
    """A uv project with nothing of its own to build, whose only index is the demo's."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(
        '[project]\nname = "sample"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        f"dependencies = {json.dumps(dependencies)}\n\n[tool.uv]\npackage = false\n\n"
        f'[[tool.uv.index]]\nname = "local"\nurl = {json.dumps(index_url)}\ndefault = true\n'
    )


def uv_story(demo: Demo) -> None:
    work = demo.fresh_dir("uv-project")
    index = PackageIndex()
    index.add(LANTERN, "1.0", *build_wheel(LANTERN, "1.0"), upload_time="2026-01-05T10:00:00Z")
    index.add(LANTERN, "1.0", *build_sdist(LANTERN, "1.0"), upload_time="2026-01-05T10:00:00Z")
    with index.serve() as url:
        uv_project(work, url, [f"{LANTERN}>=1.0"])
        lock, ledger = work / "uv.lock", work / "pinwarden-ledger.toml"
        print(f"\n{BOLD}A uv project{RESET} in {work}, its index served on {url}")

        demo.step(
            "Lock with `pinwarden uv lock`",
            "uv resolves as usual; pinwarden reviews its new uv.lock before it is written,"
            " and trusts a version never seen before on first use.",
        )
        demo.pinwarden(work, "uv", "lock", expect=0)
        expect(lock.is_file() and ledger.is_file(), "no uv.lock or no ledger")

        demo.step(
            "Upstream adds a build-tagged wheel to lantern 1.0",
            'plain `uv lock --upgrade` writes its hash with "Resolved 2 packages" as the only output,'
            " and `uv sync` would install it. The guard refuses, and says how to approve.",
        )
        index.add(LANTERN, "1.0", *LANTERN_REBUILT, upload_time="2026-06-20T10:00:00Z")
        before = (lock.read_bytes(), ledger.read_bytes())
        refused = demo.pinwarden(work, "uv", "lock", "--upgrade", expect=1)
        expect((lock.read_bytes(), ledger.read_bytes()) == before, "a refusal changed a file")
        approve = refused.rstrip().splitlines()[-1].strip()
        digest = hashlib.sha256(LANTERN_REBUILT[1]).hexdigest()
        expect(
            approve.startswith(f"pinwarden approve {LANTERN}==1") and f"--hash sha256:{digest}" in approve,
            "no approve command",
        )

        demo.step(
            "A person reviews, then runs the approve command it printed",
            "the ledger now trusts lantern 1.0's new wheel, bound to the hash the report showed.",
        )
        demo.pinwarden(work, *shlex.split(approve)[1:], expect=0)

        demo.step(
            "Lock again, then install",
            "the approved wheel is written to uv.lock; `pinwarden uv sync` checks the lock offline,"
            " then lets uv install exactly what it pins.",
        )
        demo.pinwarden(work, "uv", "lock", "--upgrade", expect=0)
        expect(digest in lock.read_text(), "the approved wheel's hash was not written")
        demo.pinwarden(work, "uv", "sync", expect=0)
        demo.pinwarden(work, "check", expect=0)


STORIES: list[Callable[[Demo], None]] = [
    poetry_plugin_story,
    pip_compile_story,
    uv_story,
    poetry_lock_story,
]


def main() -> int:
    keep = os.environ.get("PINWARDEN_DEMO_DIR")
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="pinwarden-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    demo = Demo(workdir)
    # No PIP_*, pip.conf or Poetry settings of this machine; caches and home inside the demo.
    demo.env = isolated_env(demo.fresh_dir("env"))
    # ... nor uv's (UV_*, uv.toml: the uv project names its index in its pyproject.toml); its cache
    # inside the demo, this interpreter for its environments, no downloads.
    demo.env = {key: value for key, value in demo.env.items() if not key.startswith("UV_")}
    demo.env.update(
        XDG_CONFIG_DIRS=demo.env["XDG_CONFIG_HOME"],
        UV_CACHE_DIR=str(workdir / "env" / "uv-cache"),
        UV_PYTHON=sys.executable,
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
    )
    print(f"pinwarden demo in {workdir}")
    try:
        for story in STORIES:
            story(demo)
    except Surprise as exc:
        print(f"\ndemo: step {demo.steps} did not go as expected: {exc}", file=sys.stderr)
        return 1
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{BOLD}demo finished: every step behaved as expected.{RESET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
