"""Round 13's find 06: a pull request hand-edits uv.lock (a file, hash, URL or version the index never
served for that release) and `pinwarden uv lock` "locked again" in a staging copy where uv kept the
lock as it was, so the review trusted the pull request's text on first use. A uv.lock the ledger does
not fully trust is not in the copy when uv runs: uv resolves from the index, and nothing forged
enters the ledger, uv.lock or the environment."""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.compiled_project import ALPHA
from tests.support.index import build_sdist, build_wheel
from tests.support.uv_project import LATE, UPLOADED, UvProject, ok, uv_project

pytestmark = pytest.mark.e2e
if sys.platform == "win32":  # pragma: no cover
    pytest.skip("POSIX only", allow_module_level=True)

G = "pwdemo-gamma"
W310 = build_wheel(G, "1.0", python_tag="cp310", abi="cp310", platform="manylinux_2_17_x86_64")
SDIST = build_sdist(G, "1.0")
EVIL_NAME, EVIL = build_wheel(
    G, "1.0", python_tag="cp311", abi="cp311", platform="manylinux_2_17_x86_64", marker="EVIL-BYTES"
)
FAKE_NAME, FAKE = build_wheel(G, "1.0.post1", marker="EVIL-BYTES")
EVIL_SHA = hashlib.sha256(EVIL).hexdigest()
FAKE_SHA = hashlib.sha256(FAKE).hexdigest()


def files_url(p: UvProject, project: str, filename: str) -> str:
    """A URL on the index's own host, under `project`'s path (the attacker's own project)."""
    return f"{p.index.url.rsplit('/simple', 1)[0]}/files/{project}/{filename}"


def entry(url: str, sha: str, size: int, upload: str | None) -> str:
    when = f', upload-time = "{upload}"' if upload else ""
    return f'    {{ url = "{url}", hash = "sha256:{sha}", size = {size}{when} }},\n'


def _add_wheel(p: UvProject, upload: str | None) -> str:
    p.index.add("pwdemo-attacker", "9.9", EVIL_NAME, EVIL, upload_time=upload or UPLOADED)
    extra = entry(files_url(p, "pwdemo-attacker", EVIL_NAME), EVIL_SHA, len(EVIL), upload)
    return re.sub(
        r'(name = "pwdemo-gamma".*?wheels = \[\n)',
        lambda m: m.group(1) + extra,
        p.lock.read_text(),
        flags=re.S,
    )


def late_extra_wheel(p: UvProject) -> str:
    """The find: an extra cp311 wheel on the index host (another project's path), a forged late upload."""
    return _add_wheel(p, LATE)


def extra_wheel_no_upload_time(p: UvProject) -> str:
    return _add_wheel(p, None)


def forged_sha(p: UvProject) -> str:
    """The listed cp310 wheel, its hash replaced (the index serves other bytes under its URL)."""
    text = p.lock.read_text()
    listed = hashlib.sha256(W310[1]).hexdigest()
    assert listed in text
    return text.replace(listed, EVIL_SHA)


def other_projects_path(p: UvProject) -> str:
    """The listed cp310 wheel's entry now points at a same-named file under another project's path
    on the index's host, with that file's hash."""
    name = W310[0]
    p.index.add("pwdemo-attacker", "9.9", name, EVIL, upload_time=UPLOADED)
    text = p.lock.read_text()
    listed = hashlib.sha256(W310[1]).hexdigest()
    pattern = r'\{ url = "[^"]*/' + re.escape(name) + r'", hash = "sha256:' + listed + r'", size = \d+'
    forged = (
        f'{{ url = "{files_url(p, "pwdemo-attacker", name)}", hash = "sha256:{EVIL_SHA}", size = {len(EVIL)}'
    )
    new, count = re.subn(pattern, lambda m: forged, text)
    assert count == 1, text
    return new


def made_up_version(p: UvProject) -> str:
    """Variant (b): gamma becomes `1.0.post1` (no such version on the index), only the attacker's wheel."""
    p.index.add("pwdemo-attacker", "9.9", FAKE_NAME, FAKE, upload_time=UPLOADED)
    only = entry(files_url(p, "pwdemo-attacker", FAKE_NAME), FAKE_SHA, len(FAKE), UPLOADED) + "]"
    new, count = re.subn(
        r'(name = "pwdemo-gamma"\nversion = )"1.0"(.*?wheels = \[\n).*?\n\]',
        lambda m: m.group(1) + '"1.0.post1"' + m.group(2) + only,
        p.lock.read_text(),
        flags=re.S,
    )
    assert count == 1
    return new


FORGERIES: dict[str, Callable[[UvProject], str]] = {
    "late-extra-wheel": late_extra_wheel,
    "extra-wheel-no-upload-time": extra_wheel_no_upload_time,
    "forged-sha": forged_sha,
    "other-projects-path": other_projects_path,
    "made-up-version": made_up_version,
}


def forged_hashes() -> tuple[str, ...]:
    return (EVIL_SHA, FAKE_SHA)


def nothing_forged(p: UvProject) -> None:
    for sha in forged_hashes():
        assert sha not in p.ledger.read_text()
        assert sha not in p.lock.read_text()
    assert "1.0.post1" not in p.lock.read_text()


def nothing_evil_installed(p: UvProject) -> None:
    for init in p.path.glob(".venv/lib/python*/site-packages/pwdemo_gamma/__init__.py"):
        assert "EVIL-BYTES" not in init.read_text()


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_relock_resolves_from_the_index_not_the_forged_lock(
    tmp_path: Path, forge: Callable[[UvProject], str]
) -> None:
    with uv_project(tmp_path, [G]) as p:
        p.index.add(G, "1.0", *W310, upload_time=UPLOADED)
        p.index.add(G, "1.0", *SDIST, upload_time=UPLOADED)
        ok(p.uv("lock"))  # first use: gamma 1.0 (the cp310 wheel, the sdist) trusted
        trusted_lock = p.lock.read_text()
        p.lock.write_text(forge(p))  # the pull request
        ok(p.pinwarden("check"), 1)
        ok(p.uv("sync"), 1)
        done = p.uv("lock")
        nothing_forged(p)
        err = ok(done)
        assert "uv resolves from the index" in err
        assert p.lock.read_text() == trusted_lock  # uv's own resolution: what the ledger trusts
        ok(p.pinwarden("check"))
        ok(p.uv("sync"))
        nothing_forged(p)
        nothing_evil_installed(p)


@pytest.mark.parametrize(
    "forge", [late_extra_wheel, made_up_version], ids=["late-extra-wheel", "made-up-version"]
)
def test_add_with_a_forged_lock_locks_again_without_it(
    tmp_path: Path, forge: Callable[[UvProject], str]
) -> None:
    """`uv add` keeps the lock's other entries: the lock on disk, judged while uv runs, is untrusted,
    so uv runs again in a fresh copy without it (the pyproject.toml edit is the user's, once)."""
    with uv_project(tmp_path, [G]) as p:
        p.index.add(G, "1.0", *W310, upload_time=UPLOADED)
        p.index.add(G, "1.0", *SDIST, upload_time=UPLOADED)
        ok(p.uv("lock"))
        p.lock.write_text(forge(p))
        done = p.uv("add", ALPHA)
        nothing_forged(p)
        assert "without it (uv resolves from the index)" in ok(done)
        assert p.pyproject.read_text().count(ALPHA) == 1
        assert f'name = "{ALPHA}"' in p.lock.read_text()
        ok(p.pinwarden("check"))
        nothing_evil_installed(p)


def test_a_trusted_lock_is_kept_by_add(tmp_path: Path) -> None:
    """A lock the ledger trusts stays uv's preference (no second run, gamma not re-resolved)."""
    with uv_project(tmp_path, [G]) as p:
        p.index.add(G, "1.0", *W310, upload_time=UPLOADED)
        p.index.add(G, "1.0", *SDIST, upload_time=UPLOADED)
        ok(p.uv("lock"))
        p.index.add(G, "1.1", *build_wheel(G, "1.1"), upload_time=UPLOADED)  # newer, not taken
        err = ok(p.uv("add", ALPHA))
        assert "resolves from the index" not in err
        assert 'name = "pwdemo-gamma"\nversion = "1.0"' in p.lock.read_text()


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_upgrade_of_another_package_does_not_keep_the_forged_entry(
    tmp_path: Path, forge: Callable[[UvProject], str]
) -> None:
    """`uv lock --upgrade-package ALPHA` keeps gamma's entry as the lock has it: the lock on disk,
    judged while uv runs, is untrusted, so uv runs again without it."""
    with uv_project(tmp_path, [G, ALPHA]) as p:
        p.index.add(G, "1.0", *W310, upload_time=UPLOADED)
        p.index.add(G, "1.0", *SDIST, upload_time=UPLOADED)
        ok(p.uv("lock"))
        p.lock.write_text(forge(p))
        done = p.uv("lock", "--upgrade-package", ALPHA)
        nothing_forged(p)
        assert "without it (uv resolves from the index)" in ok(done)
        ok(p.pinwarden("check"))
        ok(p.uv("sync"))
        nothing_evil_installed(p)
