"""shared/bot.py's installer-side rules for uv.lock and pylock.toml, on values: every spelling of a
change of where the installer fetches gives exactly one reason, and every spelling of the same
index or host gives none (tests/test_bot_uv_pylock.py: the same end to end)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.test_ledger import digest

from pinwarden.shared import bot
from pinwarden.shared.model import LockedFile, LockedRelease, LockFile, NormalizedName, SourceKind

PYPI = "https://pypi.org/simple/"
FILES = "https://files.pythonhosted.org/packages/ab/cd"


def release(
    name: str, version: str, index: str | None = PYPI, host: str = FILES, kind: SourceKind = SourceKind.INDEX
) -> LockedRelease:
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    file = LockedFile(filename, digest(filename), url=f"{host}/{filename}")
    return LockedRelease(
        name=NormalizedName(name),
        version=version,
        files=(file,) if kind is SourceKind.INDEX else (),
        lockfile="uv.lock",
        source_kind=kind,
        source_url=index,
        source_reference="0" * 40 if kind is SourceKind.GIT else None,
    )


def lock(*releases: LockedRelease) -> LockFile:
    return LockFile(path="uv.lock", format="uv.lock", releases=releases)


BASE = lock(release("demo", "1.0"), release("other", "2.0"))


def reasons(*releases: LockedRelease) -> list[bot.Reason]:
    return bot.source_reasons(lock(*releases), BASE, "main")


# The same place, spelled otherwise (and a plain bump): nothing to refuse.
SAME = {
    "bump": PYPI,
    "no-trailing-slash": "https://pypi.org/simple",
    "host-case": "https://PyPI.org/simple/",
    "scheme-case": "HTTPS://pypi.org/simple/",
    "default-port": "https://pypi.org:443/simple/",
    "trailing-dot": "https://pypi.org./simple/",
    "userinfo": "https://token:secret@pypi.org/simple/",
}


@pytest.mark.parametrize("spelling", sorted(SAME))
def test_the_same_index_spelled_otherwise_is_no_reason(spelling: str) -> None:
    assert reasons(release("demo", "1.1", index=SAME[spelling]), release("other", "2.0")) == []


@pytest.mark.parametrize(
    "host",
    ["https://FILES.pythonhosted.org/packages/ab/cd", "https://files.pythonhosted.org:443/x", "https://u@files.pythonhosted.org/y"],
)  # fmt: skip
def test_the_same_file_host_spelled_otherwise_is_no_reason(host: str) -> None:
    assert reasons(release("demo", "1.1", host=host), release("other", "2.0")) == []


# Another place: one reason each, naming the package (or the index, or the host).
MOVED = {
    "other-path": "https://pypi.org/other/",
    "other-scheme": "http://pypi.org/simple/",
    "other-port": "https://pypi.org:8443/simple/",
    "typosquat": "https://pypl.org/simple/",
    "idna-lookalike": "https://pyp\u0131.org/simple/",
    "subdomain": "https://pypi.org.evil.example/simple/",
}


@pytest.mark.parametrize("spelling", sorted(MOVED))
def test_a_package_fetched_from_another_index_is_one_reason(spelling: str) -> None:
    found = reasons(release("demo", "1.1", index=MOVED[spelling]), release("other", "2.0"))
    assert [r.subject for r in found] == ["uv.lock: demo"], found
    assert found[0].detail.startswith("fetched from index http"), found
    assert found[0].detail.endswith("at main from index https://pypi.org/simple"), found


@pytest.mark.parametrize(
    ("now", "shown"),
    [
        (release("demo", "1.1", kind=SourceKind.GIT, index="https://example.org/demo.git"), "git https://"),
        (
            release("demo", "1.1", kind=SourceKind.URL, index="https://example.org/demo-1.1.tar.gz"),
            "url https://",
        ),
        (release("demo", "1.1", kind=SourceKind.DIRECTORY, index="vendor/demo"), "directory vendor/demo"),
        (release("demo", "1.1", index=None), "no index named"),
    ],
    ids=["git", "url", "directory", "index-dropped"],
)
def test_a_package_leaving_its_index_is_one_reason(now: LockedRelease, shown: str) -> None:
    found = reasons(now, release("other", "2.0"))
    assert len(found) == 1 and found[0].detail.startswith(f"fetched from {shown}"), found


def test_an_index_named_for_a_package_without_one_is_a_reason() -> None:
    """pylock.toml from pip lock names no index; one that starts to is fetched elsewhere."""
    base = lock(release("demo", "1.0", index=None))
    found = bot.source_reasons(
        lock(release("demo", "1.1", index="https://evil.example/simple/")), base, "main"
    )
    assert [r.detail.split(";")[0] for r in found] == ["fetched from index https://evil.example/simple"]


def test_a_new_index_for_new_packages_is_one_reason() -> None:
    evil = "https://evil.example/simple/"
    found = reasons(
        release("demo", "1.0"),
        release("other", "2.0"),
        release("new-a", "1.0", index=evil, host="https://evil.example/files"),
        release("new-b", "1.0", index=evil, host="https://evil.example/files"),
    )
    assert [r.detail for r in found] == [
        "names the index https://evil.example/simple (for new-a and 1 more), which it did not at main"
    ]


def test_a_new_package_on_a_known_index_is_no_reason() -> None:
    assert reasons(release("demo", "1.0"), release("other", "2.0"), release("new", "1.0")) == []


@pytest.mark.parametrize(
    "host",
    ["https://files.pythonhosted.org.evil.example/p", "http://files.pythonhosted.org/p", "https://filespythonhosted.org/p"],
)  # fmt: skip
def test_a_file_on_a_new_host_is_one_reason(host: str) -> None:
    found = reasons(release("demo", "1.1", host=host), release("other", "2.0"))
    assert [r.subject for r in found] == ["uv.lock: demo-1.1-py3-none-any.whl"], found
    assert "a host it was not at main" in found[0].detail


def test_a_trusted_file_moved_to_another_host_of_the_base_lock_is_a_reason() -> None:
    base = lock(release("demo", "1.0"), release("other", "2.0", host="https://mirror.example/p"))
    now = lock(
        release("demo", "1.0", host="https://mirror.example/p"),
        release("other", "2.0", host="https://mirror.example/p"),
    )
    found = bot.source_reasons(now, base, "main")
    assert [r.subject for r in found] == ["uv.lock: demo-1.0-py3-none-any.whl"], found


def test_a_new_lock_is_one_reason() -> None:
    found = bot.source_reasons(BASE, None, "main")
    assert [r.detail for r in found] == ["is new since main: where its files come from was never reviewed"]


def test_a_moved_package_is_said_once() -> None:
    """Moved to a new index on a new host: one reason, not one per index, host and file."""
    moved = replace(
        release("demo", "1.1", index="https://evil.example/simple/", host="https://evil.example/f")
    )
    assert len(reasons(moved, release("other", "2.0"))) == 1


# [tool.uv]: the fetch settings, whatever else changes

FETCHING = {
    "cache-dir": ".uv-cache",  # round 12: a committed cache uv believes
    "cache-keys": [{"file": "x"}],
    "index": [{"name": "x", "url": "https://evil.example/simple/"}],
    "index-url": "https://evil.example/simple/",
    "extra-index-url": ["https://evil.example/simple/"],
    "find-links": ["https://evil.example/links/"],
    "no-index": True,
    "index-strategy": "unsafe-best-match",
    "sources": {"demo": {"index": "x"}},
    "no-sources": True,
    "no-binary": True,
    "no-binary-package": ["demo"],
    "no-build": True,
    "no-build-package": ["demo"],
    "no-build-isolation": True,
    "no-build-isolation-package": ["demo"],
    "build-constraint-dependencies": ["setuptools<60"],
    "extra-build-dependencies": {"demo": ["evil"]},
    "extra-build-variables": {"demo": {"CC": "evil"}},
    "config-settings": {"k": "v"},
    "config-settings-package": {"demo": {"k": "v"}},
    "dependency-metadata": [{"name": "demo", "version": "1"}],
    "pip": {"extra-index-url": ["https://evil.example/simple/"]},
    "allow-insecure-host": ["evil.example"],
    "keyring-provider": "subprocess",
    "native-tls": True,
    "python-install-mirror": "https://evil.example/python/",
    "pypy-install-mirror": "https://evil.example/pypy/",
    "python-downloads-json-url": "https://evil.example/python.json",
    "a-setting-from-a-newer-uv": True,
}


@pytest.mark.parametrize("key", sorted(FETCHING))
def test_a_uv_fetch_setting_is_one_reason(key: str) -> None:
    for old, new in (({}, {key: FETCHING[key]}), ({key: FETCHING[key]}, {})):
        found = bot.uv_setting_reasons(old, new, "pyproject.toml", "main")
        assert [r.detail.split(" differ(s)")[0] for r in found] == [f"[tool.uv] {key}"], found


@pytest.mark.parametrize("key", sorted(bot.UV_SETTINGS_NOT_FETCHING))
def test_a_setting_whose_result_the_lock_shows_is_no_reason(key: str) -> None:
    assert bot.uv_setting_reasons({}, {key: "changed"}, "pyproject.toml", "main") == []


def test_several_fetch_settings_are_one_reason() -> None:
    found = bot.uv_setting_reasons({"no-build": False}, {"no-build": True, "find-links": ["x"]}, "p", "main")
    assert [r.detail for r in found] == [
        "[tool.uv] find-links, no-build differ(s) from main (where or how uv fetches or builds)"
    ]


def test_fetch_settings_and_harmless_ones_do_not_overlap() -> None:
    assert not set(FETCHING) & bot.UV_SETTINGS_NOT_FETCHING


def test_a_directory_spelled_otherwise_is_the_same_place() -> None:
    base = lock(release("lib", "0.1", kind=SourceKind.DIRECTORY, index="packages/lib"))
    now = lock(release("lib", "0.2", kind=SourceKind.DIRECTORY, index="./packages//lib/"))
    assert bot.source_reasons(now, base, "main") == []
    moved = lock(release("lib", "0.2", kind=SourceKind.DIRECTORY, index="vendor/lib"))
    assert len(bot.source_reasons(moved, base, "main")) == 1
