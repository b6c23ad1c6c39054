"""Simple repository API project pages -> the files they list. Pure: text in, frozen values out.

PEP 691 JSON and PEP 503 HTML say the same thing (filename, URL, hashes, requires-python, yanked);
PEP 700 adds size and upload time to JSON. A page that cannot be what it claims is an `InputError`
carrying every problem found, each with where it is (`files[3].hashes.sha256`, `anchor 7`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin

from ..errors import Collector
from ..model import FileHash, InvalidValue, hash_sort_key

JSON_MEDIA_TYPE = "application/vnd.pypi.simple.v1+json"
# An absolute http(s) URL with a plain host and path, as PyPI writes them: already what urljoin gives.
_PLAIN_ABSOLUTE = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*\Z")
HTML_MEDIA_TYPES = ("text/html", "application/vnd.pypi.simple.v1+html")
_KNOWN_ALGORITHMS = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexFile:
    """One file as an index lists it. `yanked` is False, True (no reason given) or the reason."""

    filename: str
    url: str
    hashes: tuple[FileHash, ...] = ()
    requires_python: str | None = None
    yanked: bool | str = False
    upload_time: str | None = None
    size: int | None = None

    def hash(self, algorithm: str = "sha256") -> FileHash | None:
        return next((h for h in self.hashes if h.algorithm == algorithm), None)


def parse_project_page(body: bytes, content_type: str, url: str) -> tuple[IndexFile, ...]:
    """Dispatch on the response's media type; `url` is the page's final URL (links are relative to it)."""
    media = content_type.partition(";")[0].strip().lower()
    text = _decode(body, url)
    if media == JSON_MEDIA_TYPE:
        return parse_json_page(text, url)
    if media in HTML_MEDIA_TYPES or not media:
        return parse_html_page(text, url)
    problems = Collector()
    problems.add("", f"unexpected content type {media!r} (expected PEP 691 JSON or PEP 503 HTML)")
    problems.raise_if_any(url, "simple API project page")
    raise AssertionError("unreachable")


def _decode(body: bytes, url: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems = Collector()
        problems.add(f"byte {exc.start}", "not UTF-8")
        problems.raise_if_any(url, "simple API project page")
        raise AssertionError("unreachable") from None


# ---------------------------------------------------------------------------------------------
# PEP 691 JSON


def parse_json_page(text: str, url: str) -> tuple[IndexFile, ...]:
    what = "PEP 691 project page"
    problems = Collector()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(f"line {exc.lineno} column {exc.colno}", f"not JSON: {exc.msg}")
        problems.raise_if_any(url, what)
    except RecursionError:  # a hostile page nested thousands deep
        problems.add("", "not JSON this client accepts: nested too deeply")
        problems.raise_if_any(url, what)
    except ValueError:  # a number past Python's int-from-text limit (CVE-2020-10735)
        problems.add("", "not JSON this client accepts: a number with too many digits")
        problems.raise_if_any(url, what)
    if not isinstance(data, dict):
        problems.add("", "must be a JSON object")
        problems.raise_if_any(url, what)
    _check_api_version(data.get("meta"), problems)
    files = data.get("files")
    if not isinstance(files, list):
        problems.add("files", "must be a list")
        problems.raise_if_any(url, what)
    result = [f for i, item in enumerate(files) if (f := _json_file(item, f"files[{i}]", url, problems))]
    problems.raise_if_any(url, what)
    return tuple(result)


def _check_api_version(meta: Any, problems: Collector) -> None:
    """PEP 691: a client must refuse a major version it does not know."""
    if not isinstance(meta, dict) or not isinstance(meta.get("api-version"), str):
        problems.add("meta.api-version", "missing (must be a string such as '1.1')")
        return
    if meta["api-version"].split(".")[0] != "1":
        problems.add("meta.api-version", f"unsupported major version {meta['api-version']!r} (known: 1)")


def _json_file(item: Any, where: str, base: str, problems: Collector) -> IndexFile | None:
    if not isinstance(item, dict):
        problems.add(where, "must be an object")
        return None
    filename = _required_str(item, "filename", where, problems)
    href = _required_str(item, "url", where, problems)
    hashes = _json_hashes(item.get("hashes"), f"{where}.hashes", problems)
    requires_python = _optional_str(item, "requires-python", where, problems)
    upload_time = _optional_str(item, "upload-time", where, problems)
    yanked = _json_yanked(item.get("yanked", False), f"{where}.yanked", problems)
    size = item.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        problems.add(f"{where}.size", f"must be a whole number of bytes, found {size!r}")
        size = None
    url = _join(base, href, f"{where}.url", problems) if href is not None else None
    if filename is None or url is None or hashes is None:
        return None
    return IndexFile(
        filename=filename,
        url=url,
        hashes=hashes,
        requires_python=requires_python,
        yanked=yanked,
        upload_time=upload_time,
        size=size,
    )


def _required_str(item: Mapping[str, Any], key: str, where: str, problems: Collector) -> str | None:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.add(f"{where}.{key}", "missing (must be a non-empty string)")
        return None
    return value


def _join(base: str, href: str, where: str, problems: Collector) -> str | None:
    """A link made absolute; a hostile page may hold one urllib cannot parse (`http://[::1`)."""
    if _PLAIN_ABSOLUTE.match(href):
        return href  # what urljoin returns for it, at a tenth of the cost (pages list 10,000s of files)
    try:
        return urljoin(base, href)
    except ValueError as exc:
        problems.add(where, f"not a URL ({exc})")
        return None


def _shown(text: str) -> str:
    """Page text in a one-line message: quoted when it holds line breaks or other controls."""
    return text if text.isprintable() else repr(text)


def _optional_str(item: Mapping[str, Any], key: str, where: str, problems: Collector) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        problems.add(f"{where}.{key}", f"must be a string, found {type(value).__name__}")
        return None
    return value


def _json_hashes(value: Any, where: str, problems: Collector) -> tuple[FileHash, ...] | None:
    if not isinstance(value, dict):
        problems.add(where, "must be an object of algorithm -> hex digest")
        return None
    found = [h for algorithm, digest in value.items() if (h := _hash(algorithm, digest, where, problems))]
    return tuple(sorted(found, key=hash_sort_key))


def _json_yanked(value: Any, where: str, problems: Collector) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value or True  # PEP 592: an empty reason still means yanked
    problems.add(where, f"must be true, false or a reason, found {type(value).__name__}")
    return False


def _hash(algorithm: Any, digest: Any, where: str, problems: Collector) -> FileHash | None:
    """A hash pinwarden knows; other hashlib names are legal in a page and simply not used."""
    if not isinstance(algorithm, str) or algorithm.lower() not in _KNOWN_ALGORITHMS:
        return None
    if not isinstance(digest, str):
        problems.add(f"{where}.{algorithm}", "must be a hex string")
        return None
    try:
        return FileHash.parse(f"{algorithm}:{digest}")
    except InvalidValue as exc:
        problems.add(f"{where}.{algorithm}", str(exc))
        return None


# ---------------------------------------------------------------------------------------------
# PEP 503 HTML


@dataclass(frozen=True, slots=True)
class _Anchor:
    number: int
    attrs: dict[str, str | None]
    text: str


class _AnchorParser(HTMLParser):
    """Collects <a> elements with their text, and <base href> (links are relative to it)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[_Anchor] = []
        self.base: str | None = None
        self._open: tuple[dict[str, str | None], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self._close()
            self._open = (dict(attrs), [])

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close()

    def _close(self) -> None:
        if self._open is not None:
            attrs, text = self._open
            self.anchors.append(_Anchor(len(self.anchors) + 1, attrs, "".join(text).strip()))
            self._open = None


def parse_html_page(text: str, url: str) -> tuple[IndexFile, ...]:
    parser = _AnchorParser()
    problems = Collector()
    try:
        parser.feed(text)
        parser.close()
    except AssertionError:  # _markupbase asserts on some malformed `<![...` declarations
        problems.add("", "not HTML this client can read: a malformed markup declaration")
        problems.raise_if_any(url, "PEP 503 project page")
    parser._close()  # an <a> left open at the end of the page
    base = (_join(url, parser.base, "base href", problems) if parser.base else url) or url
    files = [f for anchor in parser.anchors if (f := _html_file(anchor, base, problems))]
    problems.raise_if_any(url, "PEP 503 project page")
    return tuple(files)


def _html_file(anchor: _Anchor, base: str, problems: Collector) -> IndexFile | None:
    where = f"anchor {anchor.number}"
    href = anchor.attrs.get("href")
    if not href:
        problems.add(where, "has no href")
        return None
    if not anchor.text:
        problems.add(where, f"has no filename text ({_shown(href)})")
        return None
    joined = _join(base, href, f"{where}.href", problems)
    if joined is None:
        return None
    link, fragment = urldefrag(joined)
    hashes: tuple[FileHash, ...] = ()
    if fragment:
        algorithm, _, digest = fragment.partition("=")
        found = _hash(algorithm, digest, f"{where}.href", problems)
        hashes = (found,) if found else ()
    yanked: bool | str = False
    if "data-yanked" in anchor.attrs:
        yanked = anchor.attrs["data-yanked"] or True
    return IndexFile(
        filename=anchor.text,
        url=link,
        hashes=hashes,
        requires_python=anchor.attrs.get("data-requires-python") or None,
        yanked=yanked,
    )


# ---------------------------------------------------------------------------------------------
# Selecting files


def files_of_version(files: tuple[IndexFile, ...], name: str, version: str) -> Iterator[IndexFile]:
    """The files a page lists for one version, judged by their filenames (`not_of_release`, the
    rule `poetry pinwarden approve` shares).

    A filename that does not parse as this project (`cffi-1.0.2-2.tar.gz` reads as `cffi-1-0-2` 2)
    is left out: it is not this version's file, whatever its version part says.
    """
    from ..filenames import not_of_release
    from ..model import normalize_name

    project = normalize_name(name)
    return (file for file in files if not_of_release(file.filename, project, version) is None)
