"""The simple-API page parsers (shared/index/simple.py): PEP 691 JSON and PEP 503 HTML, pure."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinwarden.shared.errors import InputError
from pinwarden.shared.filenames import not_of_release
from pinwarden.shared.index.simple import (
    IndexFile,
    files_of_version,
    parse_html_page,
    parse_json_page,
    parse_project_page,
)
from pinwarden.shared.model import FileHash, NormalizedName

DATA = Path(__file__).parent / "data" / "index"
PAGE = "https://index.example/simple/demo/"
SHA = "a" * 64
SHA2 = "b" * 64


def json_page(*files: dict[str, Any], meta: Any = None) -> str:
    return json.dumps({"meta": meta or {"api-version": "1.1"}, "name": "demo", "files": list(files)})


def entry(filename: str = "demo-1.0.tar.gz", **extra: Any) -> dict[str, Any]:
    return {"filename": filename, "url": f"../../files/{filename}", "hashes": {"sha256": SHA}, **extra}


def problems(exc: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# -- PEP 691 JSON ----------------------------------------------------------------------------------


def test_real_pypi_page_parses_completely() -> None:
    files = parse_json_page((DATA / "six.json").read_text(), "https://pypi.org/simple/six/")
    assert len(files) == 48
    first = files[0]
    assert first == IndexFile(
        filename="six-0.9.0.tar.gz",
        url="https://files.pythonhosted.org/packages/0e/f9/66471f9b7e9291cca697b2e61a10645a537f389a9d5c0679d50dd86b20f7/six-0.9.0.tar.gz",
        hashes=(FileHash("sha256", "14fd1ed3dd0e1a46cc53b8fc890b5a3b11737515aeb7f42c3af9f38e8d8975d7"),),
        requires_python=None,
        yanked=False,
        upload_time="2010-06-29T19:56:36.719942Z",
        size=13292,
    )
    assert all(f.hash("sha256") is not None for f in files)
    latest = [f.filename for f in files_of_version(files, "six", "1.16.0")]
    assert latest == ["six-1.16.0-py2.py3-none-any.whl", "six-1.16.0.tar.gz"]


def test_relative_urls_resolve_against_the_page() -> None:
    (file,) = parse_json_page(json_page(entry()), PAGE)
    assert file.url == "https://index.example/files/demo-1.0.tar.gz"


@pytest.mark.parametrize(
    ("value", "expected"), [(False, False), (True, True), ("broken build", "broken build"), ("", True)]
)
def test_yanked_is_false_true_or_the_reason(value: Any, expected: bool | str) -> None:
    (file,) = parse_json_page(json_page(entry(yanked=value)), PAGE)
    assert file.yanked == expected


def test_hashes_keep_known_algorithms_sha256_first_and_skip_unknown_ones() -> None:
    hashes = {"sha512": "c" * 128, "blake2b": "d" * 128, "md5": "e" * 32, "sha256": SHA}
    (file,) = parse_json_page(json_page(entry(hashes=hashes)), PAGE)
    assert [h.algorithm for h in file.hashes] == ["sha256", "md5", "sha512"]
    assert file.hash("sha512") == FileHash("sha512", "c" * 128)
    assert file.hash("sha384") is None


def test_a_page_without_hashes_gives_files_without_hashes() -> None:
    (file,) = parse_json_page(json_page(entry(hashes={})), PAGE)
    assert file.hashes == ()
    assert file.hash() is None


def test_every_problem_is_reported_with_its_key_path() -> None:
    page = json_page(
        entry(hashes={"sha256": "xyz"}),
        {"url": "x"},
        entry(size=-1, yanked=3, **{"requires-python": 3.8}),
        "not an object",
    )
    with pytest.raises(InputError) as exc:
        parse_json_page(page, PAGE)
    assert problems(exc) == [
        "files[0].hashes.sha256: 'sha256:xyz' is not a sha256 digest (64 hex digits)",
        "files[1].filename: missing (must be a non-empty string)",
        "files[1].hashes: must be an object of algorithm -> hex digest",
        "files[2].requires-python: must be a string, found float",
        "files[2].yanked: must be true, false or a reason, found int",
        "files[2].size: must be a whole number of bytes, found -1",
        "files[3]: must be an object",
    ]
    assert exc.value.source == PAGE
    assert "PEP 691" in str(exc.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "line 1 column 2: not JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({"files": []}), "meta.api-version: missing"),
        (json_page(meta={"api-version": "2.0"}), "meta.api-version: unsupported major version '2.0'"),
        (json.dumps({"meta": {"api-version": "1.0"}, "files": {}}), "files: must be a list"),
    ],
)
def test_malformed_json_pages(text: str, expected: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_json_page(text, PAGE)
    assert expected in str(exc.value)


# -- PEP 503 HTML ----------------------------------------------------------------------------------

HTML = f"""<!DOCTYPE html>
<html><head><title>Links for demo</title></head><body>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256={SHA}"
   data-requires-python="&gt;=3.8">demo-1.0-py3-none-any.whl</a><br>
<a href="https://cdn.example/demo-1.0.tar.gz#md5={"f" * 32}" data-yanked="">demo-1.0.tar.gz</a>
<a href="demo-1.1.tar.gz" data-yanked="bad &amp; broken">  demo-1.1.tar.gz </a>
</body></html>
"""


def test_html_page_gives_filenames_hashes_and_attributes() -> None:
    wheel, sdist, later = parse_html_page(HTML, PAGE)
    assert wheel == IndexFile(
        filename="demo-1.0-py3-none-any.whl",
        url="https://index.example/files/demo-1.0-py3-none-any.whl",
        hashes=(FileHash("sha256", SHA),),
        requires_python=">=3.8",
    )
    assert (sdist.url, sdist.hashes, sdist.yanked) == (
        "https://cdn.example/demo-1.0.tar.gz",
        (FileHash("md5", "f" * 32),),
        True,
    )
    assert (later.filename, later.url, later.hashes, later.yanked) == (
        "demo-1.1.tar.gz",
        PAGE + "demo-1.1.tar.gz",
        (),
        "bad & broken",
    )
    assert (wheel.size, wheel.upload_time) == (None, None)


def test_html_base_tag_changes_what_links_are_relative_to() -> None:
    page = (
        '<html><head><base href="https://mirror.example/pkgs/"></head><a href="x-1.0.tar.gz">x-1.0.tar.gz</a>'
    )
    (file,) = parse_html_page(page, PAGE)
    assert file.url == "https://mirror.example/pkgs/x-1.0.tar.gz"


def test_html_problems_name_the_anchor() -> None:
    page = (
        '<a>nohref.tar.gz</a><a href="x.tar.gz"></a>'
        '<a href="y.tar.gz#sha256=zz">y.tar.gz</a><a href="#egg=z">z</a>'
    )
    with pytest.raises(InputError) as exc:
        parse_html_page(page, PAGE)
    assert problems(exc) == [
        "anchor 1: has no href",
        "anchor 2: has no filename text (x.tar.gz)",
        "anchor 3.href.sha256: 'sha256:zz' is not a sha256 digest (64 hex digits)",
    ]


def test_an_anchor_left_open_at_the_end_still_counts() -> None:
    (file,) = parse_html_page('<a href="x-1.0.tar.gz">x-1.0.tar.gz', PAGE)
    assert file.filename == "x-1.0.tar.gz"


# -- dispatch --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.v1+json; charset=utf-8"],
)
def test_dispatch_json(content_type: str) -> None:
    assert (
        parse_project_page(json_page(entry()).encode(), content_type, PAGE)[0].filename == "demo-1.0.tar.gz"
    )


@pytest.mark.parametrize(
    "content_type", ["text/html", "text/html; charset=utf-8", "application/vnd.pypi.simple.v1+html", ""]
)
def test_dispatch_html(content_type: str) -> None:
    assert len(parse_project_page(HTML.encode(), content_type, PAGE)) == 3


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"{}", "application/json", "unexpected content type 'application/json'"),
        (b"\xff\xfe<a>", "text/html", "byte 0: not UTF-8"),
    ],
)
def test_dispatch_refuses_what_is_not_a_page(body: bytes, content_type: str, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        parse_project_page(body, content_type, PAGE)


# -- selecting one version's files -----------------------------------------------------------------


def test_files_of_version_match_project_and_normalized_version() -> None:
    names = [
        "cffi-1.0.2.tar.gz",
        "cffi-1.0.2-2.tar.gz",  # packaging reads it as cffi-1-0-2 version 2: not cffi 2
        "cffi-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "cffi-2.0.tar.gz",
        "cffi-installer.exe",
        "CFFI-2.0.0.zip",
    ]
    files = tuple(IndexFile(filename=n, url=PAGE + n) for n in names)
    chosen = [f.filename for f in files_of_version(files, "CFFI", "2")]
    assert chosen == ["cffi-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl", "cffi-2.0.tar.gz", "CFFI-2.0.0.zip"]
    assert [f.filename for f in files_of_version(files, "cffi", "1.0.2")] == ["cffi-1.0.2.tar.gz"]


@pytest.mark.parametrize(
    ("filename", "why"),
    [
        ("my_demo-1.0-py3-none-any.whl", None),
        ("My_Demo-1.0.0-py2.py3-none-any.whl", None),
        ("my_demo-1-1-py3-none-any.whl", None),  # a build tag
        ("MY.DEMO-01.0.zip", None),
        ("my-demo-1.0.tar.gz", None),
        ("my__demo-1.0.tar.gz", None),
        ("my_demo-2.0-py3-none-any.whl", "it is my-demo 2, not my-demo 1"),
        ("my_demo-1.0+x.tar.gz", "it is my-demo 1+x, not my-demo 1"),
        ("my_demo-1!1.0.tar.gz", "it is my-demo 1!1, not my-demo 1"),
        ("my_demo-1.0-1.0.tar.gz", "it is my-demo-1-0 1, not my-demo 1"),
        ("mydemo-1.0.tar.gz", "it is mydemo 1, not my-demo 1"),
        ("my_demo-1.0.tar.bz2", "packaging reads no project and version from it"),
        ("my_demo-1.0.sdist.tar.gz", "packaging reads no project and version from it"),
        ("my_demo-1.0.egg", "packaging reads no project and version from it"),
        ("my_demo-1.0.exe", "packaging reads no project and version from it"),
    ],
)
def test_one_rule_says_which_listed_files_are_the_versions(filename: str, why: str | None) -> None:
    """`not_of_release`: what `approve --from-index` and `poetry pinwarden approve` may record."""
    assert not_of_release(filename, NormalizedName("my-demo"), "1.0") == why
    files = (IndexFile(filename=filename, url=PAGE + filename),)
    assert bool(list(files_of_version(files, "My.Demo", "1.0.0"))) is (why is None)


# -- JSON and HTML say the same thing ---------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12)
_files = st.lists(
    st.builds(
        lambda stem, digest, rp, yanked: IndexFile(
            filename=f"{stem}-1.0.tar.gz",
            url=f"https://files.example/{stem}/{stem}-1.0.tar.gz",
            hashes=(FileHash("sha256", digest),) if digest else (),
            requires_python=rp,
            yanked=yanked,
        ),
        st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
        st.one_of(st.none(), st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
        st.one_of(st.none(), st.sampled_from([">=3.8", "<4,>=3.9", "!=3.0.*"])),
        st.one_of(st.booleans(), _text.filter(lambda t: t.strip() == t and t != "")),
    ),
    max_size=5,
)


def _as_json(files: list[IndexFile]) -> str:
    rows = [
        {
            "filename": f.filename,
            "url": f.url,
            "hashes": {h.algorithm: h.value for h in f.hashes},
            "requires-python": f.requires_python,
            "yanked": f.yanked,
        }
        for f in files
    ]
    return json.dumps({"meta": {"api-version": "1.0"}, "files": rows})


def _as_html(files: list[IndexFile]) -> str:
    anchors = []
    for f in files:
        fragment = f"#sha256={f.hashes[0].value}" if f.hashes else ""
        attrs = f'href="{html.escape(f.url + fragment)}"'
        if f.requires_python:
            attrs += f' data-requires-python="{html.escape(f.requires_python)}"'
        if f.yanked is not False:
            attrs += f' data-yanked="{html.escape("" if f.yanked is True else f.yanked)}"'
        anchors.append(f"<a {attrs}>{html.escape(f.filename)}</a><br/>")
    return "<html><body>" + "\n".join(anchors) + "</body></html>"


@given(_files)
def test_json_and_html_renderings_parse_back_to_the_same_files(files: list[IndexFile]) -> None:
    assert parse_json_page(_as_json(files), PAGE) == tuple(files)
    assert parse_html_page(_as_html(files), PAGE) == tuple(files)
