"""The `audit` benchmark section: `pinwarden audit` against `pip-compile --no-reuse-hashes
--generate-hashes` (the only way pip-compile sees upstream drift) on the same pins, from fresh caches,
against the same replay index on 127.0.0.1.

The replay: every project of the largest corpus lock (saleor, 236 versions, 1,723 files), with its
recorded PyPI page where the corpus has one (all other versions as PyPI served them) and a page made
from the lock's own files where it has not. pip-compile downloads every file to hash it, so each
locked file is served as real bytes: a small generated wheel or sdist under the locked filename,
whose sha256 replaces the recorded one in the page and in the lock the ledger is made from.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
CORPUS_LOCK = CORPUS / "locks" / "poetry" / "saleor__saleor__poetry@72b8c11.lock"
BUNDLED_LOCK = ROOT / "benchmarks" / "data" / "saleor-poetry.lock"
LIMIT = 10.0  # pip-compile must take at least this many times as long as the audit


def _wheel(filename: str) -> bytes:
    """A minimal valid wheel named `filename`: dist-info named as its filename says, no dependencies."""
    name, version = filename.split("-")[:2]
    info = f"{name}-{version}.dist-info"
    tag = "-".join(filename[: -len(".whl")].split("-")[-3:])
    members = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: {tag}\n",
    }
    record = "".join(f"{path},,\n" for path in members) + f"{info}/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in {**members, f"{info}/RECORD": record}.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


def _sdist(filename: str, project: str, version: str) -> bytes:
    from tests.support.index import build_sdist

    return build_sdist(project, version, suffix=".zip" if filename.endswith(".zip") else ".tar.gz")[1]


def _locked() -> tuple[Path, list[dict[str, Any]], str]:
    """The lock, its packages (tomllib), and its text."""
    import tomllib

    lock = CORPUS_LOCK if CORPUS_LOCK.is_file() else BUNDLED_LOCK
    text = lock.read_text()
    data = tomllib.loads(text)
    files = data.get("metadata", {}).get("files", {})
    packages = []
    for package in data["package"]:
        own = package.get("files") or files.get(package["name"], [])
        packages.append({"name": package["name"], "version": package["version"], "files": own})
    return lock, packages, text


def build_replay() -> tuple[dict[str, Any], dict[str, bytes], str, list[str], dict[str, int]]:
    """(pages, file bytes, the lock rewritten with the generated hashes, pins, counts)."""
    from tests.support.replay import recorded_page

    from pinwarden.shared.model import normalize_name

    _, packages, text = _locked()
    pages: dict[str, Any] = {}
    blobs: dict[str, bytes] = {}
    counts = {"recorded": 0, "synthesized": 0, "files": 0}
    pins = []
    for package in packages:
        key = normalize_name(package["name"])
        if (CORPUS / "simple" / f"{key}.json.gz").is_file():
            page = recorded_page(key, corpus=True)
            counts["recorded"] += 1
        else:
            page = {"meta": {"api-version": "1.1"}, "name": key, "versions": [], "files": []}
            counts["synthesized"] += 1
        by_name = {f["filename"]: f for f in page["files"]}
        for entry in package["files"]:
            filename = entry["file"]
            data = (
                _wheel(filename) if filename.endswith(".whl") else _sdist(filename, key, package["version"])
            )
            digest = hashlib.sha256(data).hexdigest()
            blobs[filename] = data
            text = text.replace(entry["hash"], f"sha256:{digest}")
            served = by_name.get(filename)
            if served is None:
                served = {"filename": filename, "url": filename, "yanked": False}
                page["files"].append(served)
            served.update(hashes={"sha256": digest}, size=len(data), **{"requires-python": None})
            counts["files"] += 1
        pages[key] = page
        pins.append(f"{package['name']}=={package['version']}")
    return pages, blobs, text, pins, counts


def _installable(pins: Iterable[str], blobs: dict[str, bytes]) -> tuple[list[str], list[str]]:
    """Pins pip can resolve on this interpreter (a compatible wheel or an sdist), and the others."""
    from packaging.tags import sys_tags
    from packaging.utils import canonicalize_name, parse_wheel_filename

    from pinwarden.shared.filenames import DistKind, parse_filename

    supported = set(sys_tags())
    by_project: dict[tuple[str, str], list[str]] = {}
    for filename in blobs:
        parsed = parse_filename(filename)
        if parsed.name is not None and parsed.version is not None:
            by_project.setdefault((parsed.name, parsed.version), []).append(filename)
    good, bad = [], []
    for pin in pins:
        name, version = pin.split("==")
        files = by_project.get((canonicalize_name(name), version), [])
        ok = any(
            parse_filename(f).kind is DistKind.SDIST
            or (f.endswith(".whl") and supported & set(parse_wheel_filename(f)[3]))
            for f in files
        )
        (good if ok else bad).append(pin)
    return good, bad


def _run(argv: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    """Wall seconds and standard output of one child process."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in ok:
        raise SystemExit(f"audit section: {argv[:3]} failed ({done.returncode})\n{done.stdout}{done.stderr}")
    return elapsed, done.stdout


def bench_audit() -> bool:
    from tests.support.index import find_tool, isolated_env
    from tests.support.replay import ReplayIndex

    pip_compile = find_tool("pip-compile")
    if pip_compile is None:
        raise SystemExit("audit section: pip-compile must be installed (make bench)")
    pages, blobs, lock_text, pins, counts = build_replay()
    pins, left_out = _installable(pins, blobs)
    index = ReplayIndex(pages, files=blobs)
    index.frozen = True  # pages never change here: rendered once, served like a CDN
    with tempfile.TemporaryDirectory() as tmp, index.serve() as url:
        work = Path(tmp)
        env = isolated_env(work / "env")  # no PIP_* or pip.conf; every cache fresh, in tmp
        env["PYTHONPATH"] = str(ROOT / "src")
        env["PINWARDEN_CACHE_DIR"] = str(work / "pinwarden-cache")
        project = work / "project"
        project.mkdir()
        (project / "poetry.lock").write_text(lock_text)
        (project / "requirements.in").write_text("".join(f"{pin}\n" for pin in pins))
        _run([sys.executable, "-m", "pinwarden", "init"], project, env)
        audit = [sys.executable, "-m", "pinwarden", "audit", "--index-url", url, "--format", "json"]
        runs = []
        for _ in range(2):  # fresh cache, then every page revalidated (304)
            index.log.clear()
            elapsed, out = _run(audit, project, env, ok=(0, 1))
            runs.append((elapsed, len(index.log), sum(1 for _, s in index.log if s == 304), json.loads(out)))
        index.log.clear()
        compile_argv = [pip_compile, "--no-reuse-hashes", "--generate-hashes", "--index-url", url]
        compile_argv += ["--cache-dir", str(work / "pip-cache"), "-o", "requirements.txt", "requirements.in"]
        compiled, _ = _run(compile_argv, project, env)
        compile_requests = len(index.log)
        hashed = (project / "requirements.txt").read_text().count("--hash=")
    (first, first_requests, _, report), (again, again_requests, revalidated, _) = runs
    ratio = compiled / first
    print(
        f"audit: {len(pages)} locked versions of saleor's poetry.lock, replay index on 127.0.0.1 "
        f"({counts['recorded']} recorded PyPI pages, {counts['synthesized']} made from the lock, "
        f"{counts['files']} locked files as generated bytes)"
    )
    print(f"  pinwarden audit, fresh cache      {first:7.2f} s  {first_requests:5d} requests")
    print(
        f"  pinwarden audit, again            {again:7.2f} s  {again_requests:5d} requests"
        f", {revalidated} x 304"
    )
    print(
        f"  pip-compile --no-reuse-hashes --generate-hashes, fresh cache ({len(pins)} pins, {hashed} hashes)"
    )
    print(f"                                    {compiled:7.2f} s  {compile_requests:5d} requests")
    if left_out:
        print(f"  (left out of pip-compile, no distribution for this interpreter: {', '.join(left_out)})")
    print(f"  audit findings {len(report['findings'])}, errors {len(report['errors'])}")
    print(f"  ratio                             {ratio:7.1f}x (limit {LIMIT:.0f}x)")
    return ratio >= LIMIT and not report["errors"]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    sys.exit(0 if bench_audit() else 1)
