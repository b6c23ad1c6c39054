"""The index client under `pinwarden audit`: failures, credentials, the conditional cache, retries,
concurrency and progress, against replay indexes and stubs on 127.0.0.1.

Every way an index can fail ends as a tool error (exit 2, one line per version on stderr, `errors` in
JSON), never as a clean audit; a project the index does not have is a finding (exit 1).
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.replay import ReplayIndex

from pinwarden.cli import main
from pinwarden.shared import progress

T0 = "2024-05-01T12:00:00Z"
EPOCH = "1780000000"


def page(name: str, *files: tuple[str, bytes]) -> dict[str, Any]:
    return {
        "meta": {"api-version": "1.1"},
        "name": name,
        "versions": ["1.0"],
        "files": [
            {
                "filename": filename,
                "url": f"https://files.example/{filename}",
                "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                "upload-time": T0,
                "size": len(data),
                "yanked": False,
            }
            for filename, data in files
        ],
    }


def demo_page(name: str = "pwdemo-alpha") -> dict[str, Any]:
    dist = name.replace("-", "_")
    return page(name, (f"{dist}-1.0-py3-none-any.whl", b"wheel " + name.encode()))


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "NETRC"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return tmp_path


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def pin(index_url: str, *names: str) -> None:
    lines = [f"--index-url {index_url}", ""]
    for name in names:
        digest = hashlib.sha256(b"wheel " + name.encode()).hexdigest()
        lines.append(f"{name}==1.0 --hash=sha256:{digest}")
    Path("requirements.txt").write_text("\n".join(lines) + "\n")
    assert run("init")[0] == 0


@pytest.fixture
def replay() -> Iterator[ReplayIndex]:
    index = ReplayIndex({"pwdemo-alpha": demo_page()})
    with index.serve():
        yield index


# -- failures ------------------------------------------------------------------------------------


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/simple/"


def assert_tool_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    lines = err.splitlines()
    assert lines and all(line.startswith("pinwarden: error: ") for line in lines), err
    for word in words:
        assert word in err, err


def test_unreachable_index(replay: ReplayIndex) -> None:
    pin(replay.url, "pwdemo-alpha")
    code, out, err = run("audit", "--index-url", dead_url())
    assert_tool_error(
        code,
        err,
        "index http://127.0.0.1:",
        "(pwdemo-alpha 1)",
        "cannot connect: connection refused",
        "could not be audited",
    )
    assert "could not audit everything" in out


def test_timeout(replay: ReplayIndex) -> None:
    pin(replay.url, "pwdemo-alpha")
    replay.delay = 1.0
    started = time.monotonic()
    code, _, err = run("audit", "--timeout", "0.2")
    assert_tool_error(code, err, "timed out")
    assert time.monotonic() - started < 8  # four attempts, short backoff


def test_server_errors_are_retried_then_reported(replay: ReplayIndex) -> None:
    pin(replay.url, "pwdemo-alpha")
    replay.fail["pwdemo-alpha"] = [500] * 10
    code, _, err = run("audit")
    assert_tool_error(code, err, "HTTP 500", "(after 3 retries)")
    assert replay.page_requests == 4


def test_a_passing_failure_is_retried(replay: ReplayIndex) -> None:
    pin(replay.url, "pwdemo-alpha")
    replay.fail["pwdemo-alpha"] = [503, 502]
    code, out, err = run("audit")
    assert (code, err) == (0, ""), out
    assert [status for _, status in replay.log] == [503, 502, 200]


def test_a_project_the_index_does_not_have_is_a_finding_not_an_error(replay: ReplayIndex) -> None:
    pin(replay.url, "pwdemo-alpha", "pwdemo-nothing")
    code, out, err = run("audit", "--format", "json")
    assert (code, err) == (1, "")
    report = json.loads(out)
    assert [(f["kind"], f["project"]) for f in report["findings"]] == [("project-gone", "pwdemo-nothing")]


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"{", "application/vnd.pypi.simple.v1+json", "not a valid PEP 691 project page"),
        (
            b'{"meta": {"api-version": "2.0"}, "files": []}',
            "application/vnd.pypi.simple.v1+json",
            "unsupported",
        ),
        (b"<a>", "text/html", "not a valid PEP 503 project page"),
        (b"%PDF", "application/pdf", "unexpected content type"),
    ],
)
def test_malformed_pages_are_errors(replay: ReplayIndex, body: bytes, content_type: str, words: str) -> None:
    pin(replay.url, "pwdemo-alpha")
    replay.raw["pwdemo-alpha"] = (body, content_type)
    code, out, err = run("audit", "--format", "json")
    assert_tool_error(code, err, words)
    report = json.loads(out)
    assert report["findings"] == [] and len(report["errors"]) == 1 and words in report["errors"][0]


def test_one_failing_project_does_not_hide_the_others(replay: ReplayIndex) -> None:
    replay.pages["pwdemo-beta"] = demo_page("pwdemo-beta")
    pin(replay.url, "pwdemo-alpha", "pwdemo-beta")
    assert run("audit")[0] == 0  # the baseline names the bytes a requirements file pins
    replay.pages["pwdemo-alpha"]["files"][0]["hashes"]["sha256"] = "0" * 64
    replay.fail["pwdemo-beta"] = [500] * 4
    code, out, err = run("audit")
    assert_tool_error(code, err, "pwdemo-beta 1: ", "HTTP 500")
    assert "CHANGED" in out and "pwdemo-alpha 1  (requirements.txt)" in out


# -- credentials ---------------------------------------------------------------------------------


def with_credentials(url: str, user: str = "reader", password: str = "s3cret") -> str:
    return url.replace("http://", f"http://{user}:{password}@")


def test_credentials_in_the_index_url(replay: ReplayIndex) -> None:
    replay.credentials = ("reader", "s3cret")
    pin(with_credentials(replay.url), "pwdemo-alpha")
    code, out, err = run("audit")
    assert (code, err) == (0, ""), out
    assert "s3cret" not in (
        Path("pinwarden-ledger.toml").read_text() + Path("pinwarden-baseline.toml").read_text()
    )


def test_credentials_from_netrc(replay: ReplayIndex, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replay.credentials = ("reader", "s3cret")
    pin(replay.url, "pwdemo-alpha")
    (isolated / "netrc").write_text("machine 127.0.0.1 login reader password s3cret\n")
    (isolated / "netrc").chmod(0o600)
    monkeypatch.setenv("NETRC", str(isolated / "netrc"))
    code, out, err = run("audit")
    assert (code, err) == (0, ""), out


def test_credentials_of_a_poetry_source(replay: ReplayIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    replay.credentials = ("reader", "s3cret")
    digest = hashlib.sha256(b"wheel pwdemo-alpha").hexdigest()
    Path("poetry.lock").write_text(
        '[[package]]\nname = "pwdemo-alpha"\nversion = "1.0"\ndescription = ""\noptional = false\n'
        'python-versions = "*"\nfiles = [\n'
        f'    {{file = "pwdemo_alpha-1.0-py3-none-any.whl", hash = "sha256:{digest}"}},\n]\n\n'
        f'[package.source]\ntype = "legacy"\nurl = "{replay.url}"\nreference = "private-repo"\n\n'
        '[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "x"\n'
    )
    assert run("init")[0] == 0
    code, _, err = run("audit")
    assert_tool_error(code, err, "HTTP 401", "POETRY_HTTP_BASIC_")
    monkeypatch.setenv("POETRY_HTTP_BASIC_PRIVATE_REPO_USERNAME", "reader")
    monkeypatch.setenv("POETRY_HTTP_BASIC_PRIVATE_REPO_PASSWORD", "s3cret")
    code, out, err = run("audit")
    assert (code, err) == (0, ""), out


def test_refused_credentials_are_an_error(replay: ReplayIndex) -> None:
    replay.credentials = ("reader", "s3cret")
    pin(with_credentials(replay.url, password="wrong"), "pwdemo-alpha")
    code, _, err = run("audit")
    assert_tool_error(code, err, "HTTP 401", "reader:****@127.0.0.1")
    assert "wrong" not in err


# -- cache, concurrency, progress ----------------------------------------------------------------


def test_unchanged_pages_come_back_as_304_from_the_cache(replay: ReplayIndex) -> None:
    pin(replay.url, "pwdemo-alpha")
    assert run("audit")[0] == 0
    assert run("audit")[0] == 0
    assert [status for _, status in replay.log] == [200, 304]
    replay.pages["pwdemo-alpha"]["files"][0]["hashes"]["sha256"] = "0" * 64
    code, out, _ = run("audit")
    assert code == 1 and "CHANGED" in out  # never a stale answer: the page changed, so a 200
    assert [status for _, status in replay.log][-1] == 200
    assert run("audit", "--no-cache")[0] == 1
    assert [status for _, status in replay.log][-1] == 200


def test_pages_are_fetched_concurrently(isolated: Path) -> None:
    names = [f"pwdemo-p{i:02d}" for i in range(12)]
    index = ReplayIndex({name: demo_page(name) for name in names})
    index.delay = 0.4
    with index.serve():
        pin(index.url, *names)
        started = time.monotonic()
        code, out, err = run("audit")
        elapsed = time.monotonic() - started
    assert (code, err) == (0, ""), out
    assert "audited 12 locked version(s) on 12 project page(s), 12 request(s)" in out
    assert elapsed < 12 * 0.4 / 2, elapsed  # one at a time would take 4.8 s


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY", 0.0)
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    terminal, pipe = _Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        line = progress.ProgressLine(stream, "pinwarden audit: project pages")
        line(1, 3)
        line(3, 3)
        line.close()
    assert terminal.getvalue() == (
        "\rpinwarden audit: project pages: 1/3\x1b[K\rpinwarden audit: project pages: 3/3\x1b[K\r\x1b[K"
    )
    assert pipe.getvalue() == ""


def test_a_quick_audit_draws_nothing_even_on_a_terminal() -> None:
    terminal = _Terminal()
    line = progress.ProgressLine(terminal, "x")
    line(1, 1)
    line.close()
    assert terminal.getvalue() == ""


def test_audit_without_a_ledger_is_an_error(replay: ReplayIndex) -> None:
    Path("requirements.txt").write_text(f"-i {replay.url}\npwdemo-alpha==1.0 --hash=sha256:{'0' * 64}\n")
    code, _, err = run("audit")
    assert_tool_error(code, err, "no ledger yet; run 'pinwarden init'")
    assert replay.log == []


def test_a_malformed_baseline_stops_before_any_request(replay: ReplayIndex) -> None:
    pin(replay.url, "pwdemo-alpha")
    Path("pinwarden-baseline.toml").write_text("baseline-format = 7\n")
    code, _, err = run("audit")
    assert_tool_error(code, err, "pinwarden-baseline.toml is not a valid pinwarden audit baseline")
    assert replay.log == []
