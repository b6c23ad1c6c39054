"""A local Python package index for end-to-end tests against real pip, pip-compile and Poetry.

Distributions are built in memory (`build_wheel`, `build_sdist`), held by a `PackageIndex` that can add,
remove, replace and yank files while it serves PEP 503 HTML and PEP 691/700 JSON on 127.0.0.1, or write a
static PEP 503 tree for `file://` URLs. `isolated_env` keeps the machine's pip and Poetry settings out of
the tools under test. Standard library only, so it runs wherever the tests run.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import html
import io
import json
import os
import re
import shutil
import sys
import tarfile
import threading
import time
import urllib.parse
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = [
    "HTML_TYPE",
    "JSON_TYPE",
    "IndexFile",
    "PackageIndex",
    "build_sdist",
    "build_wheel",
    "find_tool",
    "isolated_env",
    "normalize",
    "poetry_project",
]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"

# Zip cannot store times before 1980; tar and gzip use the same instant so equal inputs give equal bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_TAR_MTIME = 315532800


def normalize(name: str) -> str:
    """PEP 503 project name: the key of `/simple/<name>/`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _dist_name(name: str) -> str:
    """Name as it appears in wheel and sdist filenames and in import paths."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _metadata(
    name: str,
    version: str,
    metadata_version: str,
    requires_dist: Iterable[str],
    requires_python: str | None,
) -> str:
    lines = [
        f"Metadata-Version: {metadata_version}",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {name} test distribution",
    ]
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    return "\n".join(lines) + "\n"


def _module(name: str, version: str, marker: str) -> bytes:
    # The marker lets a test publish new bytes under an unchanged filename.
    return f'"""{name} {version}: pinwarden test package."""\n\nMARKER = {marker!r}\n'.encode()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def _zip(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def build_wheel(
    name: str,
    version: str,
    *,
    build_tag: int | str | None = None,
    python_tag: str = "py3",
    abi: str = "none",
    platform: str = "any",
    extra_files: Mapping[str, bytes] | None = None,
    marker: str = "",
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
) -> tuple[str, bytes]:
    """Return (filename, bytes) of a minimal valid wheel; equal arguments give equal bytes."""
    dist = _dist_name(name)
    info_dir = f"{dist}-{version}.dist-info"
    tags = [
        f"{p}-{a}-{pl}" for p in python_tag.split(".") for a in abi.split(".") for pl in platform.split(".")
    ]
    wheel_meta = ["Wheel-Version: 1.0", "Generator: pinwarden-tests", "Root-Is-Purelib: true"]
    wheel_meta += [f"Tag: {tag}" for tag in tags]
    if build_tag is not None:
        wheel_meta.append(f"Build: {build_tag}")
    members: dict[str, bytes] = {f"{dist}/__init__.py": _module(name, version, marker)}
    members.update(extra_files or {})
    members[f"{info_dir}/METADATA"] = _metadata(name, version, "2.1", requires_dist, requires_python).encode()
    members[f"{info_dir}/WHEEL"] = ("\n".join(wheel_meta) + "\n").encode()
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in members.items())
    members[f"{info_dir}/RECORD"] = (record + f"{info_dir}/RECORD,,\n").encode()
    build = f"-{build_tag}" if build_tag is not None else ""
    return f"{dist}-{version}{build}-{python_tag}-{abi}-{platform}.whl", _zip(members)


# In-tree PEP 517 backend shipped inside every test sdist: installing or inspecting the sdist needs no
# setuptools and no network (pip's isolated build env installs nothing when `requires` is empty).
_BACKEND = '''\
"""Offline PEP 517 backend for pinwarden test sdists: PKG-INFO plus one package directory."""
import base64
import hashlib
import os
import re
import tarfile
import zipfile
from email.parser import Parser


def _meta():
    with open("PKG-INFO", encoding="utf-8") as f:
        text = f.read()
    msg = Parser().parsestr(text)
    return text, re.sub(r"[-_.]+", "_", msg["Name"]).lower(), msg["Version"]


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    text, dist, version = _meta()
    info = dist + "-" + version + ".dist-info"
    members = {}
    for root, dirs, names in os.walk(dist):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                members[path.replace(os.sep, "/")] = f.read()
    members[info + "/METADATA"] = text.encode()
    members[info + "/WHEEL"] = (
        b"Wheel-Version: 1.0\\nGenerator: pinwarden-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    )
    record = ""
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += path + ",sha256=" + digest + "," + str(len(data)) + "\\n"
    members[info + "/RECORD"] = (record + info + "/RECORD,,\\n").encode()
    filename = dist + "-" + version + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return filename


def build_sdist(sdist_directory, config_settings=None):
    _, dist, version = _meta()
    base = dist + "-" + version
    with tarfile.open(os.path.join(sdist_directory, base + ".tar.gz"), "w:gz") as archive:
        for entry in sorted(os.listdir(".")):
            archive.add(entry, arcname=base + "/" + entry)
    return base + ".tar.gz"
'''


def _toml_list(items: Iterable[str]) -> str:
    # JSON strings are valid TOML basic strings.
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def build_sdist(
    name: str,
    version: str,
    *,
    marker: str = "",
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    suffix: str = ".tar.gz",
) -> tuple[str, bytes]:
    """Return (filename, bytes) of a minimal sdist (`.tar.gz` or `.zip`) that builds offline."""
    requires_dist = list(requires_dist)
    dist = _dist_name(name)
    base = f"{dist}-{version}"
    project = [f"name = {json.dumps(name)}", f"version = {json.dumps(version)}"]
    project.append(f"dependencies = {_toml_list(requires_dist)}")
    if requires_python is not None:
        project.append(f"requires-python = {json.dumps(requires_python)}")
    pyproject = (
        "[build-system]\nrequires = []\n"
        'build-backend = "pinwarden_test_backend"\nbackend-path = ["_backend"]\n\n'
        "[project]\n" + "\n".join(project) + "\n"
    )
    # Metadata-Version 2.2 with nothing dynamic (PEP 643) lets Poetry trust PKG-INFO without building.
    members = {
        f"{base}/PKG-INFO": _metadata(name, version, "2.2", requires_dist, requires_python).encode(),
        f"{base}/pyproject.toml": pyproject.encode(),
        f"{base}/_backend/pinwarden_test_backend.py": _BACKEND.encode(),
        f"{base}/{dist}/__init__.py": _module(name, version, marker),
    }
    if suffix == ".zip":
        return base + suffix, _zip(members)
    if suffix != ".tar.gz":
        raise ValueError(f"unsupported sdist suffix {suffix!r}")
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for directory in sorted({p.rsplit("/", 1)[0] for p in members} | {base}):
            archive.addfile(_tar_info(directory, tarfile.DIRTYPE, 0o755))
        for path, data in members.items():
            info = _tar_info(path, tarfile.REGTYPE, 0o644)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    gz_buffer = io.BytesIO()
    # mtime=0 and an empty name keep the gzip header free of the build time and a temp path.
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, mtime=0) as compressed:
        compressed.write(tar_buffer.getvalue())
    return base + suffix, gz_buffer.getvalue()


def _tar_info(path: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.type = kind
    info.mode = mode
    info.mtime = _TAR_MTIME
    return info


@dataclass(frozen=True)
class IndexFile:
    """One distribution file; `yanked` is None when not yanked, else the reason ("" for none given)."""

    version: str
    data: bytes
    upload_time: str | None = None
    yanked: str | None = None
    requires_python: str | None = None


@dataclass
class _Project:
    name: str
    files: dict[str, IndexFile]


class PackageIndex:
    """Projects and their files, served as a simple repository; changes apply to the next request."""

    def __init__(self) -> None:
        self.json_enabled = True  # False: HTML only, whatever the client asks for.
        self.hash_algorithm = "sha256"  # Any hashlib name: used in HTML fragments and JSON `hashes`.
        self.requests: list[str] = []  # Paths as requested, for tests that count fetches.
        # Set: file links are absolute on this origin (`http://host:port`), e.g. another host name.
        self.file_base: str | None = None
        # Seconds each response waits, as a remote index's round trip would (benchmarks only).
        self.latency = 0.0
        self._lock = threading.Lock()
        self._projects: dict[str, _Project] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content -----------------------------------------------------------------------------------

    def add(
        self,
        name: str,
        version: str,
        filename: str,
        data: bytes,
        *,
        upload_time: str | None = None,
        yanked: str | None = None,
        requires_python: str | None = None,
    ) -> None:
        """Publish a file; `index.add(name, version, *build_wheel(name, version))` reads well."""
        with self._lock:
            project = self._projects.setdefault(normalize(name), _Project(name, {}))
            if filename in project.files:
                raise ValueError(f"{filename} already exists: use replace()")
            project.files[filename] = IndexFile(version, data, upload_time, yanked, requires_python)

    def remove(self, name: str, filename: str) -> None:
        """Delete a file; the project stays listed, possibly with no files, as on PyPI."""
        with self._lock:
            del self._projects[normalize(name)].files[filename]

    def replace(self, name: str, filename: str, data: bytes) -> None:
        """Serve new bytes under an existing filename (what PyPI forbids and mirrors can still do)."""
        self._update(name, filename, data=data)

    def yank(self, name: str, filename: str, reason: str = "") -> None:
        self._update(name, filename, yanked=reason)

    def _update(self, name: str, filename: str, **changes: Any) -> None:
        with self._lock:
            files = self._projects[normalize(name)].files
            files[filename] = replace(files[filename], **changes)

    def files(self, name: str) -> dict[str, IndexFile]:
        with self._lock:
            return dict(self._projects[normalize(name)].files)

    # -- rendering ---------------------------------------------------------------------------------

    def _digest(self, data: bytes) -> str:
        return hashlib.new(self.hash_algorithm, data).hexdigest()

    def render_root(self, as_json: bool = False) -> str:
        with self._lock:
            projects = sorted(self._projects.items())
        if as_json:
            listing = [{"name": project.name} for _, project in projects]
            return json.dumps({"meta": {"api-version": "1.1"}, "projects": listing}, indent=1)
        anchors = "".join(f'<a href="{key}/">{html.escape(p.name)}</a><br>\n' for key, p in projects)
        return _html_page("Simple index", anchors)

    def render_project(self, name: str, as_json: bool = False) -> str:
        """Page of one project; KeyError if unknown. File links are relative: `../../files/<key>/<file>`."""
        key = normalize(name)
        with self._lock:
            files = sorted(self._projects[key].files.items())
        rows = []
        for filename, f in files:
            url = f"../../files/{key}/{urllib.parse.quote(filename)}"
            if self.file_base is not None:
                url = f"{self.file_base}/files/{key}/{urllib.parse.quote(filename)}"
            row: dict[str, Any] = {
                "filename": filename,
                "url": url,
                "hashes": {self.hash_algorithm: self._digest(f.data)},
                "size": len(f.data),
                "yanked": (f.yanked or True) if f.yanked is not None else False,
            }
            if f.requires_python is not None:
                row["requires-python"] = f.requires_python
            if f.upload_time is not None:
                row["upload-time"] = f.upload_time
            rows.append(row)
        if as_json:
            versions = list(dict.fromkeys(f.version for _, f in files))
            page = {"meta": {"api-version": "1.1"}, "name": key, "versions": versions, "files": rows}
            return json.dumps(page, indent=1)
        anchors = []
        for (filename, f), row in zip(files, rows, strict=True):
            fragment = f"{self.hash_algorithm}={row['hashes'][self.hash_algorithm]}"
            attrs = f' href="{html.escape(row["url"])}#{fragment}"'
            if f.requires_python is not None:
                attrs += f' data-requires-python="{html.escape(f.requires_python)}"'
            if f.yanked is not None:
                attrs += f' data-yanked="{html.escape(f.yanked)}"'
            anchors.append(f"<a{attrs}>{html.escape(filename)}</a><br>\n")
        return _html_page(f"Links for {key}", "".join(anchors))

    def file_data(self, key: str, filename: str) -> bytes:
        """Bytes served at `/files/<key>/<filename>`; KeyError if absent."""
        with self._lock:
            return self._projects[key].files[filename].data

    def write_static(self, root: Path) -> str:
        """Write `root/simple/...` (PEP 503) and `root/files/...`; return the `file://` index URL.

        Earlier output under those two folders is removed first so deletions show.
        """
        for sub in ("simple", "files"):
            shutil.rmtree(root / sub, ignore_errors=True)
        (root / "simple").mkdir(parents=True)
        (root / "simple" / "index.html").write_text(self.render_root())
        with self._lock:
            snapshot = {key: dict(project.files) for key, project in self._projects.items()}
        for key, files in snapshot.items():
            (root / "simple" / key).mkdir()
            (root / "simple" / key / "index.html").write_text(self.render_project(key))
            (root / "files" / key).mkdir(parents=True)
            for filename, f in files.items():
                (root / "files" / key / filename).write_bytes(f.data)
        return (root / "simple").resolve().as_uri() + "/"

    # -- serving -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT/simple/` while serving."""
        if self._server is None:
            raise RuntimeError("index is not serving")
        return f"http://127.0.0.1:{self._server.server_address[1]}/simple/"

    def start(self, port: int = 0) -> str:
        """`port`: 0 for a free one; an earlier `url`'s port serves it again after `stop()`."""
        if self._server is not None:
            raise RuntimeError("index is already serving")
        self._server = _Server(("127.0.0.1", port), partial(_Handler, index=self))
        # A short poll keeps stop() fast: shutdown() waits for the loop's next poll (0.5 s by default).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on a free port of 127.0.0.1 for the duration of the block; yields `url`."""
        url = self.start()
        try:
            yield url
        finally:
            self.stop()

    def _log(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)


def _html_page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta name="pypi:repository-version" content="1.1">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def _negotiate(accept: str | None) -> str:
    """Pick the response type from an Accept header: JSON_TYPE, HTML_TYPE or "text/html".

    Each candidate takes the quality of its most specific matching range (RFC 9110); ties go to
    text/html, so clients that send no Accept or `*/*` get what a PEP 503 server always served.
    """
    ranges: list[tuple[str, float]] = []
    for part in (accept or "*/*").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                with contextlib.suppress(ValueError):
                    quality = float(value)
        ranges.append((media.lower(), quality))

    def score(candidate: str) -> tuple[float, int]:
        kind = candidate.split("/", maxsplit=1)[0] + "/*"
        matches = [
            (2 if m == candidate else 1 if m == kind else 0, q)
            for m, q in ranges
            if m in (candidate, kind, "*/*")
        ]
        if not matches:
            return (0.0, 0)
        specificity, quality = max(matches)
        return (quality, specificity)

    best, best_score = "text/html", score("text/html")
    for candidate in (HTML_TYPE, JSON_TYPE):
        if score(candidate) > best_score:
            best, best_score = candidate, score(candidate)
    return best


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops bursts of parallel connections (Poetry and the
    # concurrency test open several), and each dropped SYN costs a one-second retransmit.
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, *args: Any, index: PackageIndex, **kwargs: Any) -> None:
        self.index = index  # Set before super().__init__, which handles the request.
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # Keep test output clean; `index.requests` is the log.

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def _respond(self, send_body: bool) -> None:
        self.index._log(self.path)
        if self.index.latency:
            time.sleep(self.index.latency)
        path = urllib.parse.urlsplit(self.path).path
        parts = [urllib.parse.unquote(p) for p in path.split("/")]
        try:
            if parts[1:] == ["simple"]:
                self._send(301, "text/plain", b"", send_body, {"Location": "/simple/"})
            elif parts[1:] == ["simple", ""]:
                self._page(None, send_body)
            elif len(parts) in (3, 4) and parts[1] == "simple" and parts[2] and parts[3:] in ([], [""]):
                key = normalize(parts[2])
                if parts[2] != key or len(parts) == 3:
                    # PyPI answers a non-normalized or slashless name with a permanent redirect.
                    self._send(301, "text/plain", b"", send_body, {"Location": f"/simple/{key}/"})
                else:
                    self._page(key, send_body)
            elif len(parts) == 4 and parts[1] == "files":
                self._file(self.index.file_data(parts[2], parts[3]), send_body)
            else:
                self._send(404, "text/plain", b"not found\n", send_body)
        except KeyError:
            self._send(404, "text/plain", b"not found\n", send_body)

    def _page(self, key: str | None, send_body: bool) -> None:
        media = _negotiate(self.headers.get("Accept")) if self.index.json_enabled else "text/html"
        as_json = media == JSON_TYPE
        text = self.index.render_root(as_json) if key is None else self.index.render_project(key, as_json)
        media = media if as_json else f"{media}; charset=utf-8"
        self._send(200, media, text.encode(), send_body, {"Vary": "Accept"})

    def _file(self, data: bytes, send_body: bool) -> None:
        # Poetry reads wheel metadata lazily with a suffix range (`bytes=-10000`) and downloads the
        # whole file again when it gets a 200, so single ranges are honoured as PyPI's CDN does.
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
        if match is None or match.groups() == ("", ""):
            self._send(200, "application/octet-stream", data, send_body, {"Accept-Ranges": "bytes"})
            return
        first, last = match.groups()
        size = len(data)
        start = max(size - int(last), 0) if not first else int(first)
        end = size - 1 if not first or not last else min(int(last), size - 1)
        if start >= size or start > end:
            self._send(416, "text/plain", b"", send_body, {"Content-Range": f"bytes */{size}"})
            return
        headers = {"Content-Range": f"bytes {start}-{end}/{size}"}
        self._send(206, "application/octet-stream", data[start : end + 1], send_body, headers)

    def _send(
        self, status: int, media: str, body: bytes, send_body: bool, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def find_tool(name: str) -> str | None:
    """A console script beside the running interpreter (its venv), else on PATH; None if neither."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Environment for pip, pip-compile and Poetry subprocesses that ignores this machine's settings.

    Drops PIP_*, POETRY_*, VIRTUAL_ENV and PYTHONPATH, points every config, cache and home directory
    into `tmp_path`, and sets PIP_CONFIG_FILE=/dev/null, which makes pip skip all its config files
    (site, user, /etc/pip.conf, /etc/xdg/pip/pip.conf). Override a key to vary one run (e.g. a fresh
    POETRY_CACHE_DIR).
    """
    dropped = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "POETRY_")) and k not in dropped}
    dirs = {
        "HOME": "home",
        "XDG_CACHE_HOME": "xdg-cache",
        "XDG_CONFIG_HOME": "xdg-config",
        "XDG_DATA_HOME": "xdg-data",
        "POETRY_CACHE_DIR": "poetry-cache",
        "POETRY_CONFIG_DIR": "poetry-config",
        "POETRY_DATA_DIR": "poetry-data",
    }
    for key, sub in dirs.items():
        (tmp_path / sub).mkdir(parents=True, exist_ok=True)
        env[key] = str(tmp_path / sub)
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INPUT="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        POETRY_KEYRING_ENABLED="false",
        POETRY_VIRTUALENVS_IN_PROJECT="true",
        # pip consults keyring on its own; the null backend keeps it from probing D-Bus or prompting.
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        # A proxy from the host must not intercept requests to the local index.
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def poetry_project(
    path: Path,
    index_url: str,
    dependencies: Iterable[str],
    *,
    name: str = "sample",
    version: str = "0.1.0",
) -> Path:
    """Write a Poetry 2.x non-package project whose only source is `index_url`; return its pyproject.

    A primary source keeps Poetry from adding PyPI implicitly.
    """
    path.mkdir(parents=True, exist_ok=True)
    pyproject = path / "pyproject.toml"
    pyproject.write_text(
        "[project]\n"
        f"name = {json.dumps(name)}\n"
        f"version = {json.dumps(version)}\n"
        'requires-python = ">=3.10"\n'
        f"dependencies = {_toml_list(dependencies)}\n\n"
        "[tool.poetry]\npackage-mode = false\n\n"
        "[[tool.poetry.source]]\n"
        'name = "local"\n'
        f"url = {json.dumps(index_url)}\n"
        'priority = "primary"\n'
    )
    return pyproject


def unbound(command: str) -> str:
    """A printed approve command without its binding (`--hash DIGEST`, `--replace --reason "WHY"`):
    the tests of which command is printed; tests/test_approve_replace.py and friends test the binding
    itself."""
    words = command.split()
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in ("--hash", "--reason"):
            skip = True
        elif word != "--replace":
            kept.append(word)
    return " ".join(kept)
