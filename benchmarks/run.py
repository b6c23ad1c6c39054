"""pinwarden benchmarks: ratios against baselines measured in the same run (machines are noisy).

    .venv/bin/python benchmarks/run.py            # all
    .venv/bin/python benchmarks/run.py check      # one section: check, ledger, pip-compile, audit, signs

Each section prints its figures and its limit; the script exits 1 when a limit is exceeded.
- check:  `pinwarden check` on the largest corpus poetry.lock, against the floor of loading that
          file with tomllib in a fresh interpreter (wall time and peak memory); limit 2x.
- uvlock: the same for the largest corpus uv.lock (lerobot's: 333 packages, 3,276 files, 1.1 MB);
          limit 2x.
- ledger: ledger load and save at 10k, 50k and 100k files; growth must be linear (the cost per
          file at 100k within 1.5x of the cost per file at 10k).
- pip-compile: `pinwarden pip-compile` against plain `pip-compile --generate-hashes` on the same
          project (30 pins, wheels and sdists, from an index served on 127.0.0.1), rerun with the
          output in place and nothing moved, warm caches; limit 1.10x.
- uv-guard: `pinwarden uv lock --upgrade` and `pinwarden uv sync` against plain `uv lock --upgrade`
          and `uv sync` on the same project (30 packages, wheels and sdists, from an index served on
          127.0.0.1), reruns with nothing new, warm caches; limit 1.10x each. Shown beside them, the
          floor of any front end written in Python: an interpreter that only execs uv.
- audit:  `pinwarden audit` of the largest corpus poetry.lock (236 versions) against a replay index on
          127.0.0.1, against `pip-compile --no-reuse-hashes --generate-hashes` on the same pins from a
          fresh cache (benchmarks/audit_bench.py); wall time and requests; the audit at least 10x faster.
- signs:  the share of consecutive real release pairs (the last 12 final releases of the 300 projects
          recorded in ../shared/corpus/simple) that raise a blocking question, and the figure per sign
          (benchmarks/signs_bench.py); goal 0.5% or less. Skipped when the corpus is absent.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # tests.support.index: the local package index the tests use

CORPUS_LOCK = ROOT.parent / "shared" / "corpus" / "locks" / "poetry" / "saleor__saleor__poetry@72b8c11.lock"
BUNDLED_LOCK = ROOT / "benchmarks" / "data" / "saleor-poetry.lock"
CORPUS_UV_LOCK = ROOT.parent / "shared" / "corpus" / "uv-locks" / "huggingface__lerobot__uv.lock"
BUNDLED_UV_LOCK = ROOT / "benchmarks" / "data" / "lerobot-uv.lock"


def child_env() -> dict[str, str]:
    # Bytecode caching on, as in any installed copy; PYTHONDONTWRITEBYTECODE would time the compiler.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


def timed_run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    # stderr to a file, not a pipe: pip-compile echoes its whole output there, which could fill a pipe.
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env or child_env(), stdout=subprocess.DEVNULL, stderr=stderr
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0,):
            stderr.seek(0)
            raise SystemExit(f"benchmark child failed ({proc.returncode}): {argv}\n{stderr.read().decode()}")
    return elapsed, usage.ru_maxrss


def interleaved(
    runs: int, env: dict[str, str] | None = None, **commands: tuple[list[str], Path]
) -> dict[str, tuple[float, int]]:
    """Median wall time and median peak RSS per command, runs interleaved so noise hits all alike."""
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (argv, cwd) in commands.items():
            samples[name].append(timed_run(argv, cwd, env))
    return {
        name: (statistics.median(s[0] for s in values), int(statistics.median(s[1] for s in values)))
        for name, values in samples.items()
    }


def bench_check(runs: int) -> bool:
    lock = CORPUS_LOCK if CORPUS_LOCK.is_file() else BUNDLED_LOCK
    return bench_lock_check("check", lock, "poetry.lock", runs)


def bench_uvlock(runs: int) -> bool:
    lock = CORPUS_UV_LOCK if CORPUS_UV_LOCK.is_file() else BUNDLED_UV_LOCK
    return bench_lock_check("uvlock", lock, "uv.lock", runs)


def bench_lock_check(section: str, lock: Path, filename: str, runs: int) -> bool:
    """`pinwarden check` after `pinwarden init` on one lock file (the project's only lock, named
    `filename`), against the floor of loading that file with tomllib in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copyfile(lock, work / filename)
        py = sys.executable
        subprocess.run(
            [py, "-m", "pinwarden", "init"], cwd=work, env=child_env(), check=True, capture_output=True
        )
        subprocess.run([py, "-m", "compileall", "-q", str(ROOT / "src")], env=child_env(), check=True)
        floor_code = f"import tomllib; tomllib.load(open({filename!r}, 'rb'))"
        results = interleaved(
            runs,
            python=([py, "-c", "pass"], work),
            floor=([py, "-c", floor_code], work),
            check=([py, "-c", "import sys; from pinwarden.cli import main; sys.exit(main(['check']))"], work),
        )
    floor_t, floor_m = results["floor"]
    check_t, check_m = results["check"]
    time_ratio, mem_ratio = check_t / floor_t, check_m / floor_m
    print(f"{section}: {lock.name} ({lock.stat().st_size // 1024} KiB), median of {runs} interleaved runs")
    print(
        f"  bare interpreter   {results['python'][0] * 1000:7.1f} ms  {results['python'][1] / 1024:6.1f} MiB"
    )
    print(f"  floor (tomllib)    {floor_t * 1000:7.1f} ms  {floor_m / 1024:6.1f} MiB")
    print(f"  pinwarden check    {check_t * 1000:7.1f} ms  {check_m / 1024:6.1f} MiB")
    print(f"  ratio              {time_ratio:7.2f}x time (limit 2.00x)   {mem_ratio:.2f}x memory")
    return time_ratio <= 2.0


def synthetic_ledger(files: int):  # type: ignore[no-untyped-def]
    import hashlib

    from pinwarden.shared.ledger import Ledger
    from pinwarden.shared.model import FileHash, LockedFile, LockedRelease, TrustHow, normalize_name
    from pinwarden.shared.trust import record

    per_version = 10
    releases = []
    for v in range(files // per_version):
        name, version = f"project-{v // 5:05d}", f"1.{v % 5}.0"
        dist = name.replace("-", "_")
        entries = [
            LockedFile(
                f"{dist}-{version}-cp3{i}-cp3{i}-manylinux_2_17_x86_64.whl",
                FileHash("sha256", hashlib.sha256(f"{name}{version}{i}".encode()).hexdigest()),
            )
            for i in range(per_version)
        ]
        releases.append(
            LockedRelease(
                name=normalize_name(name), version=version, files=tuple(entries), lockfile="poetry.lock"
            )
        )
    return record(Ledger(), releases, how=TrustHow.INIT, at="2026-11-25T00:00:00Z")


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_ledger(repeats: int) -> bool:
    from pinwarden.shared.ledger import dumps, loads
    from pinwarden.shared.store import atomic_write

    print("ledger: load (parse + validate) and save (render + atomic write), best of", repeats)
    per_file: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pinwarden-ledger.toml"
        for size in (10_000, 50_000, 100_000):
            ledger = synthetic_ledger(size)
            text = dumps(ledger)
            load = best_of(repeats, lambda t=text: loads(t))  # type: ignore[misc]
            save = best_of(repeats, lambda lg=ledger: atomic_write(path, dumps(lg)))  # type: ignore[misc]
            per_file[size] = (load / size, save / size)
            load_text = f"load {load * 1000:7.1f} ms ({load / size * 1e6:4.1f} µs/file)"
            save_text = f"save {save * 1000:7.1f} ms ({save / size * 1e6:4.1f} µs/file)"
            print(f"  {size:>7} files  {len(text) / 1e6:5.1f} MB   {load_text}   {save_text}")
    load_growth = per_file[100_000][0] / per_file[10_000][0]
    save_growth = per_file[100_000][1] / per_file[10_000][1]
    print(f"  per-file cost 100k vs 10k: load {load_growth:.2f}x, save {save_growth:.2f}x (linear: <= 1.50x)")
    return load_growth <= 1.5 and save_growth <= 1.5


PIP_COMPILE_PINS = 30


def pip_compile_index():  # type: ignore[no-untyped-def]
    """30 projects in a dependency tree, two versions each; every version has a wheel and an sdist,
    every third one a platform wheel too. The resolver picks 1.1 everywhere: 30 pins, 70 hashes."""
    from tests.support.index import PackageIndex, build_sdist, build_wheel

    index = PackageIndex()
    names = [f"pwbench-{i:02d}" for i in range(PIP_COMPILE_PINS)]
    for i, name in enumerate(names):
        requires = [names[j] for j in (2 * i + 1, 2 * i + 2) if j < len(names)]
        for version in ("1.0", "1.1"):
            index.add(name, version, *build_wheel(name, version, requires_dist=requires))
            index.add(name, version, *build_sdist(name, version, requires_dist=requires))
            if i % 3 == 0:
                platform = {"python_tag": "cp311", "abi": "cp311", "platform": "manylinux_2_17_x86_64"}
                index.add(name, version, *build_wheel(name, version, requires_dist=requires, **platform))
    return index, names


def bench_pip_compile(runs: int) -> bool:
    from tests.support.index import find_tool, isolated_env

    pip_compile, pinwarden = find_tool("pip-compile"), find_tool("pinwarden")
    if pip_compile is None or pinwarden is None:
        raise SystemExit("pip-compile section: pip-compile and pinwarden must be installed (make bench)")
    index, names = pip_compile_index()
    with tempfile.TemporaryDirectory() as tmp, index.serve() as url:
        work = Path(tmp)
        env = isolated_env(work / "env")  # no PIP_* or pip.conf; one warm cache for both tools
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as in child_env(): time the code, not the compiler
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], env=env, check=True)
        commands = {
            "plain": ([pip_compile, "--generate-hashes", "-i", url, "requirements.in"], work / "plain"),
            "pinwarden": ([pinwarden, "pip-compile", "-i", url, "requirements.in"], work / "pinwarden"),
        }
        for _, cwd in commands.values():  # two copies of one project: each output names its own command
            cwd.mkdir()
            (cwd / "requirements.in").write_text("".join(f"{name}\n" for name in names[:6]))
        for argv, cwd in commands.values():  # the first run writes the output (and the ledger), warms caches
            subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
        before = {name: (cwd / "requirements.txt").read_bytes() for name, (_, cwd) in commands.items()}
        results = interleaved(runs, env, **commands)
        after = {name: (cwd / "requirements.txt").read_bytes() for name, (_, cwd) in commands.items()}
    pins = before["plain"].count(b"==")
    if after != before or pins != PIP_COMPILE_PINS:
        raise SystemExit("pip-compile section: the reruns changed the output; nothing may move")
    plain_t, guarded_t = results["plain"][0], results["pinwarden"][0]
    ratio = guarded_t / plain_t
    print(f"pip-compile: rerun with nothing changed, {pins} pins, median of {runs} interleaved runs")
    print(f"  pip-compile --generate-hashes  {plain_t * 1000:7.1f} ms")
    print(f"  pinwarden pip-compile          {guarded_t * 1000:7.1f} ms")
    print(f"  ratio                          {ratio:7.2f}x (limit 1.10x)")
    return ratio <= 1.10


UV_GUARD_COMMANDS = (("lock", "--upgrade"), ("sync",))
# A remote index's round trip (PyPI's CDN from a CI runner is 10-50 ms): the same uv runs, each index
# response 30 ms late, shown beside the loopback figures (which no real index gives).
REMOTE_LATENCY = 0.030


def bench_uv_guard(runs: int) -> bool:
    loopback = _bench_uv_guard(runs, latency=0.0)
    remote = _bench_uv_guard(runs, latency=REMOTE_LATENCY, commands=(("lock", "--upgrade"),))
    return loopback and remote


def _bench_uv_guard(
    runs: int, *, latency: float, commands: tuple[tuple[str, ...], ...] = UV_GUARD_COMMANDS
) -> bool:
    from tests.support.index import find_tool

    uv, pinwarden = find_tool("uv"), find_tool("pinwarden")
    if uv is None or pinwarden is None:
        raise SystemExit("uv-guard section: uv and pinwarden must be installed (make bench)")
    from tests.support.uv_project import uv_env, write_pyproject

    # What any front end written in Python pays before uv starts: an interpreter that only execs uv.
    exec_uv = [sys.executable, "-c", f"import os, sys; os.execv({uv!r}, [{uv!r}, *sys.argv[1:]])"]
    index, names = pip_compile_index()
    with tempfile.TemporaryDirectory() as tmp, index.serve() as url:
        work = Path(tmp)
        index.latency = latency
        # No UV_*, uv.toml or pip settings of this machine; the index as a user's uv.toml would name it
        # (UV_DEFAULT_INDEX); one warm cache for all.
        env = uv_env(work / "env", url)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as in child_env(): time the code, not the compiler
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], env=env, check=True)
        projects = {
            "plain": (work / "plain", [uv]),
            "pinwarden": (work / "pinwarden", [pinwarden, "uv"]),
            "exec": (work / "exec", exec_uv),
        }
        for cwd, _ in projects.values():  # copies of one project: each lock is its own command's
            write_pyproject(cwd, names[:6])
        for cwd, prefix in projects.values():  # the first runs write uv.lock (and the ledger), .venv, caches
            for args in UV_GUARD_COMMANDS:
                subprocess.run([*prefix, *args], cwd=cwd, env=env, check=True, capture_output=True)
        before = {name: (cwd / "uv.lock").read_bytes() for name, (cwd, _) in projects.items()}
        results = {
            args: interleaved(
                runs, env, **{name: ([*prefix, *args], cwd) for name, (cwd, prefix) in projects.items()}
            )
            for args in commands
        }
        after = {name: (cwd / "uv.lock").read_bytes() for name, (cwd, _) in projects.items()}
    locked = before["plain"].count(b"[[package]]") - 1  # the project itself is a package of uv.lock
    if after != before or len(set(before.values())) != 1 or locked != PIP_COMPILE_PINS:
        raise SystemExit("uv-guard section: the reruns changed uv.lock; nothing may move")
    where = f"each index response {latency * 1000:.0f} ms late" if latency else "index on loopback"
    print(f"uv-guard: reruns with nothing new, {locked} packages, {where}, median of {runs} interleaved runs")
    ratios = []
    for args, timings in results.items():
        plain_t, guarded_t, exec_t = (timings[name][0] for name in ("plain", "pinwarden", "exec"))
        ratios.append(guarded_t / plain_t)
        command = " ".join(args)
        print(f"  uv {command:<32} {plain_t * 1000:7.1f} ms")
        print(f"  pinwarden uv {command:<22} {guarded_t * 1000:7.1f} ms   {ratios[-1]:5.2f}x (limit 1.10x)")
        print(f"  python, exec uv {command:<19} {exec_t * 1000:7.1f} ms   {exec_t / plain_t:5.2f}x (floor)")
    return all(ratio <= 1.10 for ratio in ratios)


SECTIONS = {
    "check": lambda quick: bench_check(7 if quick else 21),
    "uvlock": lambda quick: bench_uvlock(7 if quick else 21),
    "ledger": lambda quick: bench_ledger(2 if quick else 3),
    "pip-compile": lambda quick: bench_pip_compile(5 if quick else 15),
    "uv-guard": lambda quick: bench_uv_guard(5 if quick else 15),
    "audit": lambda quick: bench_audit(),
    "signs": lambda quick: bench_signs(),
}


def bench_audit() -> bool:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from audit_bench import bench_audit as run_section

    return run_section()


def bench_signs() -> bool:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from signs_bench import bench_signs as run_section

    return run_section()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=f"any of {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    # In SECTIONS' order whatever the order asked: a child's peak RSS counts the parent it was forked
    # from, so the memory figures (check, uvlock) come before the sections that grow this process.
    chosen = [name for name in SECTIONS if name in args.sections] or list(SECTIONS)
    failed = [name for name in chosen if not SECTIONS[name](args.quick)]
    print("FAILED: " + ", ".join(failed) if failed else "all benchmark limits met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
