"""Proves the local-index harness (tests/support/index.py) against real pip, pip-compile and Poetry.

Everything runs on 127.0.0.1 or file:// and passes inside `unshare -n`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import re
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.support.index import (
    HTML_TYPE,
    JSON_TYPE,
    PackageIndex,
    build_sdist,
    build_wheel,
    find_tool,
    isolated_env,
    poetry_project,
)

NAME = "pwdemo-alpha"  # Cannot exist on PyPI: a leak to the real index would fail loudly.
WHEEL = build_wheel(NAME, "1.0", marker="wheel", requires_python=">=3.8")
SDIST = build_sdist(NAME, "1.0", marker="sdist")
LATE_WHEEL = build_wheel(NAME, "1.0", build_tag=1, marker="late")
UPLOADED = "2024-05-01T12:00:00.000000Z"
PIP_ACCEPT = f"{JSON_TYPE}, {HTML_TYPE}; q=0.1, text/html; q=0.01"
POETRY_ACCEPT = f"{JSON_TYPE}, */*;q=0.1"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    index = PackageIndex()
    index.add(NAME, "1.0", *WHEEL, upload_time=UPLOADED, requires_python=">=3.8")
    index.add(NAME, "1.0", *SDIST)
    with index.serve():
        yield index


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path / "env")


def tool(name: str) -> str:
    path = find_tool(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path


def run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def fetch(url: str, accept: str | None = None) -> tuple[str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers.get_content_type(), response.read()


def raw_get(
    index: PackageIndex, path: str, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    """One request without following redirects."""
    parts = urllib.parse.urlsplit(index.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs))


def anchors(text: str) -> list[dict[str, str | None]]:
    parser = Anchors()
    parser.feed(text)
    return parser.links


def lock_files(lock: Path) -> dict[str, str]:
    return dict(re.findall(r'\{file = "([^"]+)", hash = "([^"]+)"\}', lock.read_text()))


def requirement_hashes(path: Path) -> set[str]:
    return set(re.findall(r"--hash=sha256:([0-9a-f]{64})", path.read_text()))


# -- distributions ---------------------------------------------------------------------------------


def test_wheel_is_valid_normalized_and_deterministic() -> None:
    filename, data = build_wheel("PwDemo.Alpha", "1.0", requires_dist=["pwdemo-beta>=2"])
    assert filename == "pwdemo_alpha-1.0-py3-none-any.whl"
    assert build_wheel("PwDemo.Alpha", "1.0", requires_dist=["pwdemo-beta>=2"]) == (filename, data)
    changed = build_wheel("PwDemo.Alpha", "1.0", requires_dist=["pwdemo-beta>=2"], marker="x")
    assert changed[0] == filename
    assert changed[1] != data

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert "Requires-Dist: pwdemo-beta>=2" in members["pwdemo_alpha-1.0.dist-info/METADATA"].decode()
    record = members.pop("pwdemo_alpha-1.0.dist-info/RECORD").decode().splitlines()
    assert "pwdemo_alpha-1.0.dist-info/RECORD,," in record
    for line in record[:-1]:
        path, digest, size = line.split(",")
        expected = base64.urlsafe_b64encode(hashlib.sha256(members[path]).digest()).rstrip(b"=").decode()
        assert (digest, int(size)) == (f"sha256={expected}", len(members[path]))
    assert len(record) - 1 == len(members)

    tagged, tagged_data = build_wheel(
        NAME, "1.0", build_tag=1, python_tag="cp311", abi="cp311", platform="linux_x86_64"
    )
    assert tagged == "pwdemo_alpha-1.0-1-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(io.BytesIO(tagged_data)) as archive:
        wheel = archive.read("pwdemo_alpha-1.0.dist-info/WHEEL").decode()
    assert "Build: 1\n" in wheel
    assert "Tag: cp311-cp311-linux_x86_64\n" in wheel


def test_sdist_is_deterministic_and_carries_static_metadata() -> None:
    filename, data = build_sdist("PwDemo.Alpha", "1.0", requires_dist=["pwdemo-beta"], marker="m")
    assert filename == "pwdemo_alpha-1.0.tar.gz"
    assert build_sdist("PwDemo.Alpha", "1.0", requires_dist=["pwdemo-beta"], marker="m") == (filename, data)
    assert data[4:8] == b"\0\0\0\0"  # gzip mtime
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as archive:
        names = set(archive.getnames())
        member = archive.extractfile("pwdemo_alpha-1.0/PKG-INFO")
        assert member is not None
        pkg_info = member.read().decode()
    assert {"pwdemo_alpha-1.0/pyproject.toml", "pwdemo_alpha-1.0/pwdemo_alpha/__init__.py"} <= names
    assert pkg_info.startswith("Metadata-Version: 2.2\n")
    assert "Requires-Dist: pwdemo-beta\n" in pkg_info
    assert build_sdist(NAME, "1.0", suffix=".zip")[0] == "pwdemo_alpha-1.0.zip"


def test_isolated_env_hides_machine_pip_config(tmp_path: Path, env: dict[str, str]) -> None:
    assert {k for k in env if k.startswith("PIP_")} == {
        "PIP_CONFIG_FILE",
        "PIP_NO_INPUT",
        "PIP_DISABLE_PIP_VERSION_CHECK",
    }
    assert "VIRTUAL_ENV" not in env
    assert "PYTHONPATH" not in env
    for key in ("HOME", "XDG_CACHE_HOME", "POETRY_CACHE_DIR", "POETRY_CONFIG_DIR", "POETRY_DATA_DIR"):
        assert Path(env[key]).is_relative_to(tmp_path)
    listed = run([sys.executable, "-m", "pip", "config", "list"], env).splitlines()
    # Only the three variables remain: no global., user. or site. file was read.
    assert all(line.startswith(":env:.") for line in listed), listed


# -- the index over HTTP ---------------------------------------------------------------------------


def test_json_pages_follow_pep_691_and_700(index: PackageIndex) -> None:
    media, body = fetch(index.url, PIP_ACCEPT)
    assert media == JSON_TYPE
    assert json.loads(body)["projects"] == [{"name": NAME}]

    page_url = index.url + NAME + "/"
    media, body = fetch(page_url, POETRY_ACCEPT)
    page = json.loads(body)
    assert media == JSON_TYPE
    assert (page["meta"]["api-version"], page["name"], page["versions"]) == ("1.1", NAME, ["1.0"])
    wheel, sdist = page["files"]
    assert wheel == {
        "filename": WHEEL[0],
        "url": f"../../files/{NAME}/{WHEEL[0]}",
        "hashes": {"sha256": sha256(WHEEL[1])},
        "size": len(WHEEL[1]),
        "yanked": False,
        "requires-python": ">=3.8",
        "upload-time": UPLOADED,
    }
    assert sdist["filename"] == SDIST[0]
    assert "upload-time" not in sdist
    assert fetch(urllib.parse.urljoin(page_url, sdist["url"]))[1] == SDIST[1]


def test_html_pages_follow_pep_503(index: PackageIndex) -> None:
    media, body = fetch(index.url)
    assert media == "text/html"
    assert anchors(body.decode()) == [{"href": f"{NAME}/"}]

    page_url = index.url + NAME + "/"
    media, body = fetch(page_url, "text/html")
    links = {link["href"]: link for link in anchors(body.decode())}
    wheel_href = f"../../files/{NAME}/{WHEEL[0]}#sha256={sha256(WHEEL[1])}"
    assert links[wheel_href]["data-requires-python"] == ">=3.8"  # escaped in the page, parsed back
    assert "data-yanked" not in links[wheel_href]
    assert f"../../files/{NAME}/{SDIST[0]}#sha256={sha256(SDIST[1])}" in links
    assert fetch(urllib.parse.urljoin(page_url, wheel_href))[1] == WHEEL[1]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (PIP_ACCEPT, JSON_TYPE),
        (POETRY_ACCEPT, JSON_TYPE),
        (f"{HTML_TYPE}, text/html;q=0.5", HTML_TYPE),
        ("*/*", "text/html"),
        (None, "text/html"),
        (f"text/html, {JSON_TYPE};q=0", "text/html"),
    ],
)
def test_content_negotiation(index: PackageIndex, accept: str | None, expected: str) -> None:
    assert fetch(index.url + NAME + "/", accept)[0] == expected


def test_json_can_be_switched_off_and_hash_algorithm_changed(index: PackageIndex) -> None:
    index.json_enabled = False
    index.hash_algorithm = "sha512"
    media, body = fetch(index.url + NAME + "/", PIP_ACCEPT)
    assert media == "text/html"
    digest = hashlib.sha512(WHEEL[1]).hexdigest()
    assert {"href": f"../../files/{NAME}/{WHEEL[0]}#sha512={digest}", "data-requires-python": ">=3.8"} in (
        anchors(body.decode())
    )


def test_redirects_and_not_found(index: PackageIndex) -> None:
    for path in ("/simple/PwDemo_Alpha/", "/simple/pwdemo.alpha/", "/simple/pwdemo-alpha"):
        response = raw_get(index, path)
        assert (response.status, response.getheader("Location")) == (301, "/simple/pwdemo-alpha/")
    assert raw_get(index, "/simple").getheader("Location") == "/simple/"
    assert raw_get(index, "/simple/pwdemo-nothing/").status == 404
    assert raw_get(index, f"/files/{NAME}/pwdemo_alpha-9.9.tar.gz").status == 404
    # urllib follows the redirect the way pip and Poetry do.
    assert fetch(index.url + "PwDemo_Alpha/", PIP_ACCEPT)[0] == JSON_TYPE


def test_range_requests(index: PackageIndex) -> None:
    path = f"/files/{NAME}/{WHEEL[0]}"
    size = len(WHEEL[1])
    suffix = raw_get(index, path, {"Range": "bytes=-10"})
    assert (suffix.status, suffix.getheader("Content-Range")) == (206, f"bytes {size - 10}-{size - 1}/{size}")
    assert (
        raw_get(index, path, {"Range": "bytes=-100000"}).getheader("Content-Range")
        == f"bytes 0-{size - 1}/{size}"
    )
    assert raw_get(index, path, {"Range": f"bytes={size}-"}).status == 416
    assert raw_get(index, path).status == 200


def test_changes_apply_to_next_request_and_requests_are_logged(index: PackageIndex) -> None:
    page_url = index.url + NAME + "/"
    new_bytes = build_wheel(NAME, "1.0", marker="replaced")[1]
    index.replace(NAME, WHEEL[0], new_bytes)
    index.yank(NAME, SDIST[0], "broken")
    index.add(NAME, "1.1", *build_wheel(NAME, "1.1"))
    page = json.loads(fetch(page_url, PIP_ACCEPT)[1])
    assert page["versions"] == ["1.0", "1.1"]
    files = {f["filename"]: f for f in page["files"]}
    assert files[WHEEL[0]]["hashes"] == {"sha256": sha256(new_bytes)}
    assert files[SDIST[0]]["yanked"] == "broken"
    html_links = anchors(fetch(page_url, "text/html")[1].decode())
    assert {"href": f"../../files/{NAME}/{SDIST[0]}#sha256={sha256(SDIST[1])}", "data-yanked": "broken"} in (
        html_links
    )

    index.remove(NAME, WHEEL[0])
    assert WHEEL[0] not in fetch(page_url, "text/html")[1].decode()
    assert raw_get(index, f"/files/{NAME}/{WHEEL[0]}").status == 404
    assert index.requests == [
        f"/simple/{NAME}/",
        f"/simple/{NAME}/",
        f"/simple/{NAME}/",
        f"/files/{NAME}/{WHEEL[0]}",
    ]


def test_serves_concurrent_requests_while_changing(index: PackageIndex) -> None:
    stop = threading.Event()

    def churn() -> None:
        late_name, late_data = LATE_WHEEL
        while not stop.is_set():
            index.add(NAME, "1.0", late_name, late_data)
            index.remove(NAME, late_name)
            time.sleep(0.001)  # let the server threads have the GIL

    changer = threading.Thread(target=churn)
    changer.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            pages = list(pool.map(lambda _: fetch(index.url + NAME + "/", PIP_ACCEPT)[1], range(40)))
    finally:
        stop.set()
        changer.join()
    assert {len(json.loads(page)["files"]) for page in pages} <= {2, 3}


def test_write_static_tree_works_with_pip_over_file_urls(tmp_path: Path, env: dict[str, str]) -> None:
    index = PackageIndex()
    index.add(NAME, "1.0", *WHEEL)
    url = index.write_static(tmp_path / "static")
    assert url == (tmp_path / "static" / "simple").as_uri() + "/"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--index-url",
            url,
            "-d",
            str(tmp_path / "dl"),
            f"{NAME}==1.0",
        ],
        env,
    )
    assert (tmp_path / "dl" / WHEEL[0]).read_bytes() == WHEEL[1]


# -- real tools ------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_pip_downloads_and_installs_wheel_and_sdist(
    index: PackageIndex, tmp_path: Path, env: dict[str, str]
) -> None:
    pip = [sys.executable, "-m", "pip"]
    run(
        [*pip, "download", "--no-deps", "--index-url", index.url, "-d", str(tmp_path / "dl"), f"{NAME}==1.0"],
        env,
    )
    assert (tmp_path / "dl" / WHEEL[0]).read_bytes() == WHEEL[1]

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env)
    python = str(venv / "bin" / "python")
    install = [*pip, "--python", python, "install", "--index-url", index.url, f"{NAME}==1.0"]
    show_marker = [python, "-c", "import pwdemo_alpha; print(pwdemo_alpha.MARKER)"]
    run(install, env)
    assert run(show_marker, env).strip() == "wheel"
    # From the sdist: pip builds it with the in-tree backend, in an isolated env that installs nothing.
    run([*install, "--force-reinstall", "--no-binary", NAME], env)
    assert run(show_marker, env).strip() == "sdist"


@pytest.mark.e2e
def test_pip_compile_sees_a_late_wheel_only_without_hash_reuse(
    index: PackageIndex, tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / "requirements.in").write_text(f"{NAME}\n")
    output = tmp_path / "requirements.txt"

    def compile_(cache: str, *extra: str) -> set[str]:
        args = ["--generate-hashes", "--index-url", index.url, "--cache-dir", str(tmp_path / cache), *extra]
        run([tool("pip-compile"), *args, "-o", str(output), "requirements.in"], env, cwd=tmp_path)
        return requirement_hashes(output)

    assert compile_("cache1") == {sha256(WHEEL[1]), sha256(SDIST[1])}
    index.add(NAME, "1.0", *LATE_WHEEL)
    # Default reruns reuse the old file's hashes even with a cold cache: the late wheel stays invisible.
    assert compile_("cache2") == {sha256(WHEEL[1]), sha256(SDIST[1])}
    assert compile_("cache3", "--no-reuse-hashes") == {
        sha256(WHEEL[1]),
        sha256(SDIST[1]),
        sha256(LATE_WHEEL[1]),
    }


@pytest.mark.e2e
def test_poetry_lock_silently_picks_up_a_late_wheel_on_a_cold_cache(
    index: PackageIndex, tmp_path: Path, env: dict[str, str]
) -> None:
    project = tmp_path / "project"
    poetry_project(project, index.url, [f"{NAME}>=1.0"])
    lock = project / "poetry.lock"
    # Plain Poetry, as it behaves without pinwarden (whose plugin is installed beside it here).
    poetry = [tool("poetry"), "--no-plugins"]

    run([*poetry, "lock", "-n"], env, cwd=project)
    before = lock_files(lock)
    assert before == {WHEEL[0]: f"sha256:{sha256(WHEEL[1])}", SDIST[0]: f"sha256:{sha256(SDIST[1])}"}

    index.add(NAME, "1.0", *LATE_WHEEL)
    # A warm cache matching the lock hides the new file...
    run([*poetry, "lock", "-n"], env, cwd=project)
    assert lock_files(lock) == before
    # ...a cold one writes it into the lock without a word.
    run([*poetry, "lock", "-n"], {**env, "POETRY_CACHE_DIR": str(tmp_path / "cold-cache")}, cwd=project)
    assert lock_files(lock) == {**before, LATE_WHEEL[0]: f"sha256:{sha256(LATE_WHEEL[1])}"}


@pytest.mark.e2e
def test_poetry_reads_an_html_only_index_with_sha512(
    index: PackageIndex, tmp_path: Path, env: dict[str, str]
) -> None:
    index.json_enabled = False
    index.hash_algorithm = "sha512"
    project = tmp_path / "project"
    poetry_project(project, index.url, [NAME])
    run([tool("poetry"), "--no-plugins", "lock", "-n"], env, cwd=project)
    assert lock_files(project / "poetry.lock") == {
        WHEEL[0]: f"sha512:{hashlib.sha512(WHEEL[1]).hexdigest()}",
        SDIST[0]: f"sha512:{hashlib.sha512(SDIST[1]).hexdigest()}",
    }
