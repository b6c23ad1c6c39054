"""What uv.lock and pylock.toml let `check` see offline (sizes, hosts, upload times), and one
identity for an index however a lock spells it. Small hand-made releases; no reader needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinwarden.shared.compare import compare
from pinwarden.shared.config import parse_settings
from pinwarden.shared.errors import InputError
from pinwarden.shared.index.sources import IndexOptions, index_identity, target_of
from pinwarden.shared.ledger import Ledger, dumps, loads, loads_full
from pinwarden.shared.ledger_diff import ChangeKind, diff, settings_changes
from pinwarden.shared.ledger_fast import fast_loads
from pinwarden.shared.lockfacts import LockRules, host_of
from pinwarden.shared.model import (
    FileHash,
    Finding,
    FindingKind,
    LockedFile,
    LockedRelease,
    LockFile,
    SourceKind,
    TrustHow,
    normalize_name,
)
from pinwarden.shared.resolve import advice_lines, resolutions
from pinwarden.shared.trust import ConflictingLocks, record

K = FindingKind
AT = "2026-11-25T00:00:00Z"
PYPI = "https://pypi.org/simple"
FILES = "https://files.pythonhosted.org/packages/ab/cd"
WHEEL = "demo-1.0-py3-none-any.whl"
SDIST = "demo-1.0.tar.gz"


def h(n: int, algorithm: str = "sha256") -> FileHash:
    return FileHash(algorithm, f"{n:x}".rjust({"sha256": 64, "sha512": 128}[algorithm], "0"))


def lf(
    filename: str, digest: FileHash, *, size: int | None = None, url: str | None = None, at: str | None = None
) -> LockedFile:
    return LockedFile(filename, digest, url=url or f"{FILES}/{filename}", size=size, upload_time=at)


def uv(
    *files: LockedFile, version: str = "1.0", index: str | None = PYPI, lockfile: str = "uv.lock"
) -> LockedRelease:
    return LockedRelease(
        name=normalize_name("demo"),
        version=version,
        files=files,
        lockfile=lockfile,
        source_url=index,
    )


BASE = uv(lf(WHEEL, h(1), size=100), lf(SDIST, h(2), size=200))


def trusted(*releases: LockedRelease) -> Ledger:
    return record(Ledger(), releases, how=TrustHow.INIT, at=AT)


def found(
    ledger: Ledger, *releases: LockedRelease, rules: LockRules | None = None
) -> list[tuple[K, str | None]]:
    return [(f.kind, f.filename) for f in compare(ledger, releases, rules)]


# ---------------------------------------------------------------------------------------------
# sizes


def test_trusting_a_lock_with_sizes_records_them_and_the_ledger_reads_them_back() -> None:
    ledger = trusted(BASE)
    sizes = {f.filename: f.size for f in ledger.get(normalize_name("demo"), "1").files}  # type: ignore[union-attr]
    assert sizes == {WHEEL: 100, SDIST: 200}
    text = dumps(ledger)
    assert f'{{ file = "{WHEEL}", hashes = ["{h(1)}"], size = 100 }},' in text
    assert fast_loads(text) is not None, "the canonical text takes the fast path"
    assert loads(text) == loads_full(text) == ledger
    assert dumps(loads(text)) == text


def test_an_older_ledger_without_sizes_still_reads_and_checks_clean() -> None:
    old = trusted(uv(LockedFile(WHEEL, h(1)), LockedFile(SDIST, h(2))))
    assert "size" not in dumps(old)
    assert compare(loads(dumps(old)), [BASE]) == ()


@pytest.mark.parametrize("value", ["-1", "true", '"100"', "1.5"])
def test_a_size_that_is_no_byte_count_is_refused(value: str) -> None:
    text = dumps(trusted(BASE)).replace("size = 100", f"size = {value}")
    with pytest.raises(InputError, match=r"size: must be a whole number of bytes"):
        loads(text)


def test_same_hash_other_size_is_one_changed_file() -> None:
    lying = uv(lf(WHEEL, h(1), size=101), lf(SDIST, h(2), size=200))
    (finding,) = compare(trusted(BASE), [lying])
    assert (finding.kind, finding.filename) == (K.CHANGED_FILE, WHEEL)
    assert finding.hash == finding.trusted_hash == str(h(1))
    assert finding.detail == (
        "the lock records 101 bytes for this file, trusted at 100 bytes: the lock does not describe "
        "the trusted file"
    )


def test_other_hash_and_other_size_is_still_one_finding() -> None:
    changed = uv(lf(WHEEL, h(9), size=101), lf(SDIST, h(2), size=200))
    (finding,) = compare(trusted(BASE), [changed])
    assert (finding.kind, finding.hash, finding.trusted_hash) == (K.CHANGED_FILE, str(h(9)), str(h(1)))
    assert finding.detail == "the same file now has other bytes; 101 bytes, trusted at 100"


def test_another_algorithm_with_another_size_is_a_changed_file_not_a_new_hash() -> None:
    """Without sizes a sha512 for a file trusted by sha256 cannot be told apart offline; the size can."""
    switched = uv(lf(WHEEL, h(9, "sha512"), size=101), lf(SDIST, h(2), size=200))
    assert found(trusted(BASE), switched) == [(K.CHANGED_FILE, WHEEL)]
    same_size = uv(lf(WHEEL, h(9, "sha512"), size=100), lf(SDIST, h(2), size=200))
    assert found(trusted(BASE), same_size) == [(K.NEW_FILE, WHEEL)]


def test_a_lock_without_sizes_beside_a_ledger_with_sizes_is_clean() -> None:
    """poetry.lock and requirements files record no size: nothing to compare."""
    poetry = uv(LockedFile(WHEEL, h(1)), LockedFile(SDIST, h(2)), lockfile="poetry.lock")
    assert compare(trusted(BASE), [poetry]) == ()


def test_two_locks_giving_one_file_two_sizes_are_not_trusted() -> None:
    other = uv(lf(WHEEL, h(1), size=999), lf(SDIST, h(2), size=200), lockfile="pylock.toml")
    with pytest.raises(ConflictingLocks, match="two sizes"):
        trusted(BASE, other)


def test_an_approved_change_records_the_new_size() -> None:
    ledger = trusted(BASE)
    changed = uv(lf(WHEEL, h(9), size=150), lf(SDIST, h(2), size=200))
    approved = record(ledger, [changed], how=TrustHow.APPROVAL, at=AT, reason="rebuilt")
    wheel = next(f for f in approved.get(normalize_name("demo"), "1").files if f.filename == WHEEL)  # type: ignore[union-attr]
    assert (wheel.hashes, wheel.size) == ((h(9),), 150)
    assert compare(approved, [changed]) == ()


# ---------------------------------------------------------------------------------------------
# hosts

SAME_HOST = [
    "https://files.pythonhosted.org/packages/ab/cd/{f}",
    "https://FILES.PythonHosted.ORG/packages/ab/cd/{f}",
    "HTTPS://files.pythonhosted.org/packages/{f}",
    "https://files.pythonhosted.org./packages/{f}",
    "https://files.pythonhosted.org:443/packages/{f}",
    "https://files.pythonhosted.org:/packages/{f}",
    "https://user:token@files.pythonhosted.org/packages/{f}",
    "https://files.pythonhosted.org/packages/{f}#sha256=00",
    "https://\uff46\uff49\uff4c\uff45\uff53.pythonhosted.org/packages/{f}",  # fullwidth: UTS 46 maps it
    "https://pypi.org/packages/{f}",
]
FOREIGN = [
    "https://files.pythonhosted.org.evil.example/packages/{f}",
    "https://files.pythonhosted.org@evil.example/packages/{f}",
    "https://user@files.pythonhosted.org@evil.example/packages/{f}",
    "https://files.pythonhosted.org\\@evil.example/packages/{f}",  # WHATWG and urllib disagree
    "https://files.pythonhosted.org%2eevil.example/packages/{f}",
    "https://files%2epythonhosted.org/packages/{f}",
    "https://fil\u0435s.pythonhosted.org/packages/{f}",  # a Cyrillic e
    "https://xn--fils-x4d.pythonhosted.org/packages/{f}",  # the same, as punycode
    "https://files.pythonhosted.org:8443/packages/{f}",
    "http://files.pythonhosted.org/packages/{f}",  # another port (and no TLS)
    "https://files.pythonhosted.org../packages/{f}",
    "https://files-pythonhosted.org/packages/{f}",
    "https://pythonhosted.org/packages/{f}",
    "https://[::1]/packages/{f}",
    "https://127.0.0.1/packages/{f}",
    "file:///srv/packages/{f}",
    "https://files.pythonhosted.org\t.evil.example/{f}",
]


@pytest.mark.parametrize("url", SAME_HOST)
def test_spellings_of_the_index_file_host_are_that_host(url: str) -> None:
    release = uv(lf(WHEEL, h(1), size=100, url=url.format(f=WHEEL)), lf(SDIST, h(2), size=200))
    assert compare(trusted(BASE), [release]) == ()


@pytest.mark.parametrize("url", FOREIGN)
def test_another_host_is_a_foreign_host_finding(url: str) -> None:
    release = uv(lf(WHEEL, h(1), size=100, url=url.format(f=WHEEL)), lf(SDIST, h(2), size=200))
    (finding,) = compare(trusted(BASE), [release])
    assert (finding.kind, finding.filename, finding.blocking) == (K.FOREIGN_HOST, WHEEL, True)
    assert (
        finding.detail is not None
        and "not from the index the lock names (https://pypi.org/simple)" in finding.detail
    )


@pytest.mark.parametrize("url", FOREIGN[:3])
def test_a_foreign_host_on_a_new_version_is_reported_beside_it(url: str) -> None:
    new = uv(lf(WHEEL.replace("1.0", "2.0"), h(5), url=url.format(f="x.whl")), version="2.0")
    assert found(trusted(BASE), new) == [(K.FOREIGN_HOST, "demo-2.0-py3-none-any.whl"), (K.NEW_VERSION, None)]


def test_a_local_index_holds_files_to_its_own_host_and_port() -> None:
    index = "http://127.0.0.1:8080/simple"
    ok = uv(lf(WHEEL, h(1), url=f"http://127.0.0.1:8080/files/{WHEEL}"), index=index)
    assert compare(trusted(ok), [ok]) == ()
    for url in (f"http://127.0.0.1:8081/files/{WHEEL}", f"http://localhost:8080/files/{WHEEL}"):
        moved = uv(lf(WHEEL, h(1), url=url), index=index)
        assert found(trusted(ok), moved) == [(K.FOREIGN_HOST, WHEEL)]


def test_file_hosts_allow_a_mirror_in_any_spelling_and_only_that_port() -> None:
    index = "https://pkgs.example.com/simple/"
    mirror = uv(lf(WHEEL, h(1), url=f"https://xn--bcher-kva.example/f/{WHEEL}"), index=index)
    ledger = trusted(uv(lf(WHEEL, h(1)), index=index))
    assert found(ledger, mirror) == [(K.FOREIGN_HOST, WHEEL)]
    assert compare(ledger, [mirror], LockRules(file_hosts=("B\u00fccher.example.",))) == ()
    on_port = uv(lf(WHEEL, h(1), url=f"https://b\u00fccher.example:8443/f/{WHEEL}"), index=index)
    assert found(ledger, on_port, rules=LockRules(file_hosts=("bücher.example",))) == [
        (K.FOREIGN_HOST, WHEEL)
    ]
    assert compare(ledger, [on_port], LockRules(file_hosts=("bücher.example:8443",))) == ()


def test_pytorch_serves_its_files_from_its_r2_host() -> None:
    index = "https://download.pytorch.org/whl/cu128"
    release = uv(lf(WHEEL, h(1), url=f"https://download-r2.pytorch.org/whl/cu128/{WHEEL}"), index=index)
    assert compare(trusted(release), [release]) == ()


def test_a_pylock_package_naming_no_index_is_held_to_pypi() -> None:
    """pip lock names no index: a typosquatted host in such a file is still seen."""
    fine = uv(lf(WHEEL, h(1)), index=None, lockfile="pylock.toml")
    assert compare(trusted(fine), [fine]) == ()
    evil = uv(lf(WHEEL, h(1), url=f"https://files.pythonhosted.org.evil.example/{WHEEL}"), index=None)
    (finding,) = compare(trusted(fine), [evil])
    assert finding.kind is K.FOREIGN_HOST
    assert finding.detail is not None and "not from PyPI (the lock names no index for it)" in finding.detail


def test_credentials_in_a_foreign_url_are_masked() -> None:
    evil = uv(lf(WHEEL, h(1), url=f"https://me:secret@evil.example/{WHEEL}"), lf(SDIST, h(2)))
    (finding,) = compare(trusted(BASE), [evil])
    assert "secret" not in (finding.detail or "")


def test_a_foreign_host_resolves_by_a_relock_or_a_file_hosts_setting() -> None:
    evil = uv(lf(WHEEL, h(1), url=f"https://files.pythonhosted.org.evil.example/{WHEEL}"), lf(SDIST, h(2)))
    findings = compare(trusted(BASE), [evil])
    table = resolutions(findings, prog="pinwarden", lock_args="", relock=lambda lock: f"relock {lock}")
    assert table[findings[0]].action == "relock"
    assert advice_lines(findings, table) == [
        "If these changes are expected, review them, then record them:",
        "  relock (no approval trusts a host): relock uv.lock",
        "Other ways to settle them (trust the new files, or lock another version):",
        '  or: add "files.pythonhosted.org.evil.example" to [tool.pinwarden] file-hosts in pyproject.toml, '
        "if the index hands files to it",
    ]


def test_host_spellings_are_one_host() -> None:
    one = {host_of(u.format(f=WHEEL)) for u in SAME_HOST[:-1]}
    assert one == {"files.pythonhosted.org:443"}
    assert host_of("https://files.pythonhosted.org\\@evil.example/") is None


def test_file_hosts_setting_is_validated_and_a_change_is_a_guard_change() -> None:
    settings = parse_settings('[tool.pinwarden]\nfile-hosts = ["mirror.example", "cdn.example:8443"]\n')
    assert settings.lock_rules().file_hosts == ("mirror.example", "cdn.example:8443")
    for bad in ('"mirror.example"', '[""]', '["a b"]', "[1]", '["https://x\\\\@y/"]'):
        with pytest.raises(InputError, match=r"file-hosts"):
            parse_settings(f"[tool.pinwarden]\nfile-hosts = {bad}\n")
    (change,) = settings_changes(parse_settings(""), settings)
    assert change.setting == "file-hosts"


# ---------------------------------------------------------------------------------------------
# late uploads, offline

DAY0 = "2025-01-01T10:00:00Z"
LATE = "2025-03-01T10:00:00Z"  # 59 days later


def test_an_untrusted_file_uploaded_long_after_the_others_is_a_late_upload_question() -> None:
    ledger = trusted(uv(lf(WHEEL, h(1), at=DAY0), lf(SDIST, h(2), at=DAY0)))
    probe = "demo-1.0-py2.py3-none-any.whl"
    now = uv(lf(WHEEL, h(1), at=DAY0), lf(SDIST, h(2), at=DAY0), lf(probe, h(3), at=LATE))
    late = [f for f in compare(ledger, [now]) if f.kind is K.LATE_UPLOAD]
    assert [(f.filename, f.blocking) for f in late] == [(probe, True)]
    assert late[0].detail is not None and late[0].detail.startswith("late upload: added 59 days after")
    assert late[0].evidence is not None and late[0].evidence["limit_days"] == 14
    assert found(ledger, now, rules=LockRules(late_upload_days=60)) == [(K.NEW_FILE, probe)]


def test_a_late_wheel_for_a_newer_interpreter_is_information() -> None:
    cp312 = "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"
    cp314 = "demo-1.0-cp314-cp314-manylinux_2_17_x86_64.whl"
    ledger = trusted(uv(lf(cp312, h(1), at=DAY0), lf(SDIST, h(2), at=DAY0)))
    now = uv(lf(cp312, h(1), at=DAY0), lf(SDIST, h(2), at=DAY0), lf(cp314, h(3), at=LATE))
    late = [f for f in compare(ledger, [now]) if f.kind is K.LATE_UPLOAD]
    assert [(f.filename, f.blocking) for f in late] == [(cp314, False)]


def test_trusted_files_and_a_new_version_uploaded_at_once_are_no_late_upload() -> None:
    now = uv(lf(WHEEL, h(1), at=DAY0), lf(SDIST, h(2), at="2025-01-02T10:00:00Z"))
    assert found(Ledger(), now) == [(K.NEW_VERSION, None)]
    old_late = uv(lf(WHEEL, h(1), at=DAY0), lf(SDIST, h(2), at=LATE))
    assert compare(trusted(old_late), [old_late]) == (), "trusted files are never news"


def test_a_late_file_on_a_version_never_trusted_is_a_sign_beside_it() -> None:
    now = uv(lf(WHEEL, h(1), at=DAY0), lf(SDIST, h(2), at=LATE), version="1.0")
    assert found(Ledger(), now) == [(K.LATE_UPLOAD, SDIST), (K.NEW_VERSION, None)]


# ---------------------------------------------------------------------------------------------
# one index, however spelled


def _spelled(index: str | None, lockfile: str, *, sized: bool) -> LockedRelease:
    files = (
        (lf(WHEEL, h(1), size=100), lf(SDIST, h(2), size=200))
        if sized
        else (
            LockedFile(WHEEL, h(1)),
            LockedFile(SDIST, h(2)),
        )
    )
    return uv(*files, index=index, lockfile=lockfile)


def test_poetry_requirements_and_uv_share_one_trusted_release_for_pypi() -> None:
    poetry = _spelled("https://pypi.org/simple/", "poetry.lock", sized=False)
    reqs = _spelled("https://pypi.org/simple", "requirements.txt", sized=False)
    uvl = _spelled("https://PyPI.org:443/simple", "uv.lock", sized=True)
    for order in ([poetry, reqs, uvl], [uvl, reqs, poetry], [reqs, uvl, poetry]):
        ledger = trusted(*order)
        assert len(ledger) == 1
        assert compare(ledger, order) == ()
        # Trusting again through another lock keeps the spelling the ledger has: no index change.
        for release in order:
            again = record(ledger, [release], how=TrustHow.APPROVAL, at=AT, reason="again")
            assert (
                again.get(normalize_name("demo"), "1").index == ledger.get(normalize_name("demo"), "1").index
            )  # type: ignore[union-attr]
            assert not [c for c in diff(ledger, again) if c.kind is ChangeKind.INDEX_CHANGED]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://pypi.org/simple", "https://pypi.org/simple/", True),
        ("https://pypi.org/simple/", "HTTPS://PYPI.ORG/simple", True),
        ("https://pypi.org:443/simple", "https://pypi.org/simple", True),
        ("https://u:p@pypi.org/simple", "https://pypi.org/simple/", True),
        ("https://pypi.org./simple", "https://pypi.org/simple", True),
        ("https://pypi.org/simple", "https://pypi.org/Simple", False),
        ("https://pypi.org/simple", "http://pypi.org/simple", False),
        ("https://pypi.org/simple", "https://test.pypi.org/simple", False),
    ],
)
def test_index_spellings(a: str, b: str, same: bool) -> None:
    assert (index_identity(a) == index_identity(b)) is same


def test_audit_asks_the_registry_a_uv_lock_or_pylock_names_for_each_package() -> None:
    mine = "http://127.0.0.1:9/simple"
    release = uv(lf(WHEEL, h(1)), index=mine)
    for fmt in ("uv.lock", "pylock.toml"):
        lock = LockFile(path=fmt, format=fmt, releases=(release,), index_urls=(mine, PYPI))
        target = target_of(release, lock, IndexOptions())
        assert target is not None and target.indexes == (mine,) and target.named == mine
    unnamed = uv(lf(WHEEL, h(1)), index=None)
    lock = LockFile(path="pylock.toml", format="pylock.toml", releases=(unnamed,))
    assert target_of(unnamed, lock, IndexOptions(pip_index_url="http://mirror/simple")) is not None


def test_findings_of_every_kind_sort_without_ties() -> None:
    from pinwarden.shared.model import SEVERITY

    assert sorted(SEVERITY.values()) == list(range(len(FindingKind)))
    assert (
        Finding(kind=K.FOREIGN_HOST, project=normalize_name("a"), version="1", lockfile="uv.lock").as_json()[
            "kind"
        ]
        == "foreign-host"
    )


def test_a_directory_release_is_never_held_to_a_host() -> None:
    directory = LockedRelease(
        name=normalize_name("demo"),
        version="1.0",
        files=(lf(WHEEL, h(1), url="https://evil.example/x.whl"),),
        lockfile="uv.lock",
        source_kind=SourceKind.URL,
        source_url="https://evil.example/x.whl",
    )
    assert K.FOREIGN_HOST not in {f.kind for f in compare(Ledger(), [directory])}


def test_the_offline_host_rule_knows_every_file_host_downloads_know() -> None:
    """`approve --from-index` downloads only from an index's known file hosts: check allows them too."""
    from pinwarden.shared.index.download import KNOWN_FILE_HOSTS
    from pinwarden.shared.lockfacts import allowed_hosts

    for index, hosts in KNOWN_FILE_HOSTS.items():
        allowed = allowed_hosts(f"https://{index}/simple/")
        assert {f"{host}:443" for host in hosts} <= allowed


def test_diff_shows_a_trusted_size_replaced_or_dropped_for_a_reviewer() -> None:
    ledger = trusted(BASE)
    resized = record(
        ledger,
        [uv(lf(WHEEL, h(1), size=101), lf(SDIST, h(2), size=200))],
        how=TrustHow.APPROVAL,
        at=AT,
        reason="r",
    )
    (change,) = [c for c in diff(ledger, resized) if c.kind is ChangeKind.SIZE_CHANGED]
    assert (change.filename, change.old, change.new, change.removes_trust) == (
        WHEEL,
        "100 bytes",
        "101 bytes",
        True,
    )
    sized_later = record(
        trusted(uv(LockedFile(WHEEL, h(1)))), [BASE], how=TrustHow.APPROVAL, at=AT, reason="r"
    )
    assert not [
        c
        for c in diff(trusted(uv(LockedFile(WHEEL, h(1)))), sized_later)
        if c.kind is ChangeKind.SIZE_CHANGED
    ]


def test_pylock_names_are_discovered_and_exclude_skips_them(tmp_path: Path) -> None:
    from pinwarden.cli import _discover

    for name in (
        "pylock.toml",
        "pylock.dev.toml",
        "pylock.a.b.toml",
        "Pylock.toml",
        "uv.lock",
        "poetry.lock",
    ):
        (tmp_path / name).write_text("")
    assert [p.as_posix() for p in _discover(tmp_path)] == [
        "poetry.lock",
        "uv.lock",
        "pylock.dev.toml",
        "pylock.toml",
    ]
    (tmp_path / "pyproject.toml").write_text('[tool.pinwarden]\nexclude = ["pylock.dev.toml", "uv.lock"]\n')
    assert [p.as_posix() for p in _discover(tmp_path)] == ["poetry.lock", "pylock.toml"]


def test_an_unreadable_host_is_not_offered_for_file_hosts() -> None:
    evil = uv(lf(WHEEL, h(1), url=f"https://files.pythonhosted.org\\@evil.example/{WHEEL}"), lf(SDIST, h(2)))
    findings = compare(trusted(BASE), [evil])
    assert findings[0].detail is not None and findings[0].detail.startswith(
        "fetched from a host no installer"
    )
    table = resolutions(findings, prog="pinwarden", lock_args="", relock=lambda lock: f"relock {lock}")
    assert table[findings[0]].alternative == ()


def test_a_new_version_on_a_foreign_host_is_not_offered_for_approval() -> None:
    """Approving it would trust the bytes the foreign host serves: only a relock (or the setting) first."""
    new = uv(
        lf("demo-2.0-py3-none-any.whl", h(5), url="https://evil.example/demo-2.0-py3-none-any.whl"),
        version="2.0",
    )
    findings = compare(trusted(BASE), [new])
    table = resolutions(findings, prog="pinwarden", lock_args="", relock=lambda lock: f"relock {lock}")
    lines = advice_lines(findings, table)
    assert not [line for line in lines if "approve" in line]
    assert "  relock (no approval trusts a host): relock uv.lock" in lines


def test_the_offline_host_rule_and_the_download_host_rule_know_the_same_file_hosts() -> None:
    """A file host check accepts is one pinwarden may download from to hash it, and back."""
    from pinwarden.shared import lockfacts
    from pinwarden.shared.index.download import KNOWN_FILE_HOSTS

    offline = {
        index.rsplit(":", 1)[0]: tuple(h.rsplit(":", 1)[0] for h in hosts)
        for index, hosts in lockfacts._FILE_HOSTS.items()
    }
    assert offline == dict(KNOWN_FILE_HOSTS)
