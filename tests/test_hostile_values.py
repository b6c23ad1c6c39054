"""Issue 10, class 10: hostile numbers, times and URLs end in one `pinwarden: error:` line (exit 2) or
a normal answer, never an internal error; passwords never appear in any message.

Generated shapes per input: URLs urllib cannot parse (`http://[::1`), ports out of range, control
characters, huge settings, upload times at the edges of what datetime holds. Each reaches the CLI
the way a user's files would bring it: --index-url, a requirements file's --index-url, poetry.lock's
source url, pyproject's Poetry sources, pip's configuration, an index page, `[tool.pinwarden]`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.test_hostile_index import WHEEL, Server, send, sha, within_deadline

from pinwarden.cli import main
from pinwarden.shared.index.sources import redact_url
from pinwarden.shared.signs import late_uploads, parse_time

BAD_URLS = [
    "http://[::1",
    "http://[::1/simple/",
    "https://[zz]/simple/",
    "http://]/simple/",
    "http://[::1]x/simple/",
    "http://127.0.0.1:99999/simple/",
    "http://127.0.0.1:-1/simple/",
    "http://127.0.0.1:port/simple/",
    "http://user:pw@[::1/simple/",
    "https://[v1.fe]:1/",
]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    box = within_deadline(lambda: main(list(argv), out, err))
    assert "error" not in box, box
    return box["result"], out.getvalue(), err.getvalue()


def assert_clean(code: int, out: str, err: str) -> None:
    """A normal answer, or one `pinwarden: error:` line; never an internal error or a traceback."""
    assert "internal error" not in out + err and "Traceback" not in out + err, out + err
    if code == 2:
        assert err.startswith("pinwarden: error:"), err
        assert all(line.startswith("pinwarden: error:") for line in err.splitlines()), err


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PINWARDEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def requirements(index_url: str) -> str:
    return f"--index-url {index_url}\n\ndemo==1.0 --hash=sha256:{sha(WHEEL)}\n"


def poetry_lock(url: str) -> str:
    return (
        '[[package]]\nname = "demo"\nversion = "1.0"\ndescription = ""\noptional = false\n'
        f'python-versions = "*"\nfiles = [\n    {{file = "demo-1.0-py3-none-any.whl", '
        f'hash = "sha256:{sha(WHEEL)}"}},\n]\n\n'
        f'[package.source]\ntype = "legacy"\nurl = {json.dumps(url)}\nreference = "private"\n\n'
        '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
    )


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_urls_on_the_command_line(isolated: Path, url: str) -> None:
    Path("requirements.txt").write_text(requirements("http://127.0.0.1:9/simple/"))
    assert run("init")[0] == 0
    for argv in (
        ("audit", "--index-url", url),
        ("audit", "--extra-index-url", url),
        ("approve", "demo==1.0", "--from-index", url),
    ):
        code, out, err = run(*argv)
        assert code == 2, (argv, out, err)
        assert_clean(code, out, err)
        assert "pw@" not in err


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_urls_in_locks_and_configuration(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    Path("requirements.txt").write_text(requirements(url))
    code, out, err = run("init")
    assert_clean(code, out, err)
    if code == 0:
        for argv in (("audit",), ("approve", "demo==1.0", "--from-index"), ("check",)):
            assert_clean(*run(*argv))
    Path("requirements.txt").unlink()
    Path("pinwarden-ledger.toml").unlink(missing_ok=True)

    Path("poetry.lock").write_text(poetry_lock(url))
    code, out, err = run("init")
    assert_clean(code, out, err)
    if code == 0:
        for argv in (("audit",), ("approve", "demo==1.0", "--from-index"), ("check",)):
            assert_clean(*run(*argv))
    Path("poetry.lock").unlink()
    Path("pinwarden-ledger.toml").unlink(missing_ok=True)

    Path("pyproject.toml").write_text(
        f'[[tool.poetry.source]]\nname = "private"\nurl = {json.dumps(url)}\npriority = "primary"\n'
    )
    assert_clean(*run("approve", "demo==1.0", "--from-index"))
    Path("pyproject.toml").unlink()

    Path("pip.conf").write_text(f"[global]\nindex-url = {url}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(Path("pip.conf").resolve()))
    assert_clean(*run("approve", "demo==1.0", "--from-index"))
    monkeypatch.setenv("PIP_INDEX_URL", url)
    assert_clean(*run("approve", "demo==1.0", "--from-index"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.builds(
        lambda scheme, host, rest: f"{scheme}{host}{rest}",
        st.sampled_from(["http://", "https://", "file://", "HTTP://", "", "//", "ftp://"]),
        st.text(alphabet="[]:@%/.-?#1aZ \t\x00\x7f\u0661", max_size=12),
        st.text(alphabet="/[]:?#@x", max_size=6),
    )
)
def test_generated_urls_never_give_an_internal_error(isolated: Path, url: str) -> None:
    Path("requirements.txt").write_text(requirements("http://127.0.0.1:9/simple/"))
    Path("pinwarden-ledger.toml").unlink(missing_ok=True)
    assert run("init")[0] == 0
    for argv in (
        ("audit", "--index-url", url, "--timeout", "0.2"),
        ("approve", "demo==1.0", "--from-index", url),
    ):
        assert_clean(*run(*argv))


@pytest.mark.parametrize("spelling", ["\x00", "a\x00.lock", "dir/\x00/poetry.lock", "req\x00.txt", "x\x00"])
def test_a_nul_in_a_path_is_one_error_line(isolated: Path, spelling: str) -> None:
    """A NUL can be in no file name: wherever a path is taken (a lock, --ledger, an approve item, a
    word after --from-index), it is one error line, never an internal error."""
    Path("requirements.txt").write_text(requirements("http://127.0.0.1:9/simple/"))
    assert run("init")[0] == 0
    before = Path("pinwarden-ledger.toml").read_bytes()
    for argv in (
        ("check", spelling),
        ("check", "--ledger", spelling),
        ("init", spelling),
        ("show", "--ledger", spelling),
        ("diff", spelling),
        ("approve", "demo==1.0", spelling),
        ("approve", "demo==1.0", "--from-index", spelling),
        ("approve", "demo==1.0", "--ledger", spelling),
        ("audit", spelling, "--timeout", "0.2"),
    ):
        code, out, err = run(*argv)
        assert code == 2, (argv, out, err)
        assert_clean(code, out, err)
    assert Path("pinwarden-ledger.toml").read_bytes() == before


# -- numbers in settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "days", ["10000000000", "999999999999999999", "-1", "100000", "1e3", '"14"', "true", "inf", "nan"]
)
def test_late_upload_days_out_of_bounds_is_a_one_line_error(isolated: Path, days: str) -> None:
    Path("requirements.txt").write_text(requirements("http://127.0.0.1:9/simple/"))
    Path("pyproject.toml").write_text(f"[tool.pinwarden]\nlate-upload-days = {days}\n")
    for argv in (("init",), ("check",), ("audit",)):
        code, out, err = run(*argv)
        assert code == 2, (argv, out, err)
        assert_clean(code, out, err)
        assert "late-upload-days" in err


@pytest.mark.parametrize("days", ["0", "1", "36500"])
def test_late_upload_days_within_bounds_is_accepted(isolated: Path, days: str) -> None:
    Path("requirements.txt").write_text(requirements("http://127.0.0.1:9/simple/"))
    Path("pyproject.toml").write_text(f"[tool.pinwarden]\nlate-upload-days = {days}\n")
    assert run("init")[0] == 0


# -- times from an index ---------------------------------------------------------------------------

EDGE_TIMES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:30:00+23:59",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01",
    "2024-02-30T00:00:00Z",
    "not a time",
    "",
    "2024-05-01T12:00:00",
]


@given(
    st.lists(
        st.one_of(
            st.sampled_from(EDGE_TIMES),
            st.datetimes().map(lambda d: d.isoformat()),
            st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(min_value=0, max_value=36500),
)
def test_late_uploads_never_raise_on_any_time(times: list[str], days: int) -> None:
    from pinwarden.shared.index.simple import IndexFile

    files = [
        IndexFile(filename=f"demo-1.0-{i}-py3-none-any.whl", url="x", upload_time=t)
        for i, t in enumerate(times)
    ]
    for sign in late_uploads(files, days):
        json.dumps(sign.evidence)
    for text in times:
        moment = parse_time(text)
        assert moment is None or moment.utcoffset() is not None


@pytest.fixture
def server(isolated: Path) -> Iterator[Server]:
    with Server().serving() as running:
        yield running


def json_page(*rows: dict[str, Any]) -> bytes:
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": list(rows)}).encode()


@pytest.mark.parametrize("upload", EDGE_TIMES)
def test_edge_upload_times_through_audit(server: Server, upload: str) -> None:
    Path("requirements.txt").write_text(requirements(server.url))
    assert run("init")[0] == 0
    files = [
        {"filename": "demo-1.0-py3-none-any.whl", "url": "../../files/w", "hashes": {"sha256": sha(WHEEL)}},
        {
            "filename": "demo-1.0.tar.gz",
            "url": "../../files/s",
            "hashes": {"sha256": sha(b"s")},
            "upload-time": upload,
        },
        {
            "filename": "demo-2.0.tar.gz",
            "url": "../../files/t",
            "hashes": {"sha256": sha(b"t")},
            "upload-time": upload,
        },
        {
            "filename": "demo-1.0-py2-none-any.whl",
            "url": "../../files/u",
            "hashes": {"sha256": sha(b"u")},
            "upload-time": "2024-05-01T12:00:00Z",
        },
    ]
    body = json_page(*files)
    server.routes["/simple/demo/"] = lambda h: send(h, body, "application/vnd.pypi.simple.v1+json")
    for argv in (("audit",), ("audit", "--format", "json")):
        assert_clean(*run(*argv))


# -- passwords ---------------------------------------------------------------------------------------

SECRETS = ["s3cret", "p%40ss", "p@ss:word", "tok-en_123"]


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize(
    "shape",
    [
        "https://user:{s}@host.example/simple/",
        "http://user:{s}@[::1/simple/",
        "https://:{s}@host.example:8080/simple/",
        "https://{s}@host.example/simple/",
        "pinwarden pip-compile --index-url=https://user:{s}@h.example/simple/ -o 'x y.txt'",
        "git+https://user:{s}@h.example/repo.git@v1 and https://u:{s}@i.example/ twice",
    ],
)
def test_redact_masks_every_password_in_any_text(shape: str, secret: str) -> None:
    text = shape.format(s=secret)
    shown = redact_url(text)
    assert (
        secret not in shown and secret.rsplit("@", maxsplit=1)[-1] not in shown.split("//")[-1].split("@")[0]
    )
    assert "****" in shown
    assert redact_url(shown) == shown


def test_passwords_never_reach_error_messages(isolated: Path) -> None:
    url = "http://user:s3cret@127.0.0.1:9/simple/"
    Path("requirements.txt").write_text(requirements(url))
    for argv in (
        ("init",),
        ("audit",),
        ("approve", "demo==1.0", "--from-index"),
        ("audit", "--index-url", url),
    ):
        code, out, err = run(*argv)
        assert "s3cret" not in out + err, (argv, out, err)
    bad = "http://user:s3cret@[::1/simple/"
    for argv in (("audit", "--index-url", bad), ("approve", "demo==1.0", "--from-index", bad)):
        code, out, err = run(*argv)
        assert code == 2 and "s3cret" not in out + err, (argv, out, err)


@pytest.mark.parametrize(
    "argv",
    [
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--timeout", "1e400"),
        ("--timeout", "-1"),
        ("--timeout", "0"),
        ("--jobs", "0"),
        ("--jobs", "1000000000000"),
        ("--jobs", "-3"),
    ],
)
def test_audit_numbers_out_of_bounds_are_one_line_errors(isolated: Path, argv: tuple[str, str]) -> None:
    Path("requirements.txt").write_text(requirements("http://127.0.0.1:9/simple/"))
    assert run("init")[0] == 0
    code, out, err = run("audit", *argv)
    assert code == 2, out + err
    assert_clean(code, out, err)
    assert argv[0] in err


@pytest.mark.parametrize("epoch", ["9" * 30, "99999999999999999", "253402300800"])
def test_source_date_epoch_out_of_range_is_a_one_line_error(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, epoch: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    Path("requirements.txt").write_text(requirements("http://127.0.0.1:9/simple/"))
    code, out, err = run("init")
    assert_clean(code, out, err)


def lock_with_credentials(secret: str, version: str) -> str:
    return (
        f'[[package]]\nname = "demo"\nversion = "{version}"\ndescription = ""\noptional = false\n'
        'python-versions = "*"\nfiles = []\n\n'
        f'[package.source]\ntype = "git"\nurl = "https://user:{secret}@h.example/r.git"\nreference = "main"\n'
        'resolved_reference = "0123456789abcdef0123456789abcdef01234567"\n\n'
        f'[[package]]\nname = "demo2"\nversion = "{version}"\ndescription = ""\noptional = false\n'
        f'python-versions = "*"\nfiles = [{{file = "demo2-{version}.tar.gz", '
        f'hash = "sha256:{sha(WHEEL)}"}}]\n\n'
        f'[package.source]\ntype = "legacy"\nurl = "https://{secret}@h.example/simple"\n'
        'reference = "private"\n\n'
        '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
    )


@pytest.mark.parametrize("secret", ["s3cret", "tok_EN-99"])
def test_passwords_in_lock_sources_are_never_printed(isolated: Path, secret: str) -> None:
    Path("poetry.lock").write_text(lock_with_credentials(secret, "1.0"))
    shown = "".join(run("init")[1:])
    Path("poetry.lock").write_text(lock_with_credentials(secret, "1.1"))
    for argv in (
        ("show",),
        ("check",),
        ("check", "--format", "json"),
        ("diff",),
        ("audit", "--timeout", "0.2"),
    ):
        shown += "".join(run(*argv)[1:])
    assert secret not in shown, shown
    assert "user:****@h.example" in shown


HUGE = "9" * 5000  # past int()'s 4,300-digit limit: packaging's Version raises ValueError
HUGE_VERSIONS = [f"1.{HUGE}", f"{HUGE}", f"1.0.post{HUGE}", f"1.0rc{HUGE}", f"{HUGE}!1.0", f"1.0+{HUGE}"]
TRUSTED_HASH = "sha256:" + "a" * 64


def _lock_with(version: str, filename: str) -> str:
    return (
        '[[package]]\nname = "demo"\nversion = ' + json.dumps(version) + '\ndescription = ""\n'
        'optional = false\npython-versions = "*"\nfiles = [\n    {file = ' + json.dumps(filename) + ", "
        f'hash = "{TRUSTED_HASH}"}},\n]\n\n'
        '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
    )


@pytest.mark.parametrize("version", HUGE_VERSIONS)
@pytest.mark.parametrize(
    "where", ["lock version", "wheel name", "sdist name", "egg name", "requirements pin", "url"]
)
def test_a_huge_version_anywhere_never_gives_an_internal_error(
    isolated: Path, version: str, where: str
) -> None:
    """Round 6: a 5,000-digit version in poetry.lock gave `internal error: ValueError` (exit 2)."""
    (isolated / "requirements.txt").write_text(f"demo==1.0 --hash={TRUSTED_HASH}\n")
    assert run("init")[0] == 0
    (isolated / "requirements.txt").unlink()
    if where == "requirements pin":
        (isolated / "requirements.txt").write_text(f"demo=={version} --hash={TRUSTED_HASH}\n")
    elif where == "url":
        url = f"https://files.example/demo-{version}-py3-none-any.whl"
        (isolated / "requirements.txt").write_text(f"demo @ {url} --hash={TRUSTED_HASH}\n")
    else:
        filename = {
            "lock version": "demo-1.0-py3-none-any.whl",
            "wheel name": f"demo-{version}-py3-none-any.whl",
            "sdist name": f"demo-{version}.tar.gz",
            "egg name": f"demo-{version}-py3.11.egg",
        }[where]
        locked = version if where == "lock version" else "1.0"
        (isolated / "poetry.lock").write_text(_lock_with(locked, filename))
    for command in (("check",), ("init",), ("show",)):
        code, out, err = run(*command)
        assert_clean(code, out, err)


@pytest.mark.parametrize("secret", ["\u0661", "p\u20acss", "\U0001f600x", "\u00e9t\u00e9\u0661"])
@pytest.mark.parametrize(
    "shape", ["ftp://:{s}@", "http://u:{s}@127.0.0.1:9/simple/", "http://{s}:pw@127.0.0.1:9/s/"]
)
def test_credentials_basic_auth_cannot_encode_are_one_error_line(
    isolated: Path, shape: str, secret: str
) -> None:
    """Found by the generated URLs above (`ftp://:` and an Arabic-Indic digit `@`): requests encodes
    basic-auth credentials as latin-1 and raised UnicodeEncodeError, an internal error quoting a
    character of the password. A user name may be shown; a password never."""
    Path("requirements.txt").write_text(requirements("http://127.0.0.1:9/simple/"))
    assert run("init")[0] == 0
    url = shape.format(s=secret)
    for argv in (
        ("audit", "--index-url", url, "--timeout", "0.2"),
        ("approve", "demo==1.0", "--from-index", url),
    ):
        code, out, err = run(*argv)
        assert_clean(code, out, err)
        assert code in (1, 2)
        if ":{s}@" in shape:
            assert secret not in out + err and "\u0661" not in out + err
