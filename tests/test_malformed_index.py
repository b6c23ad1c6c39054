"""Generated malformed PEP 691 JSON and PEP 503 HTML project pages: a correct parse or one InputError.

Three generators per reader, all seeded (a failure names its reader, generator and case number):
text mutations shared with test_malformed.py, structural edits of the decoded JSON (any value at
any path replaced by another type, deep nesting, huge numbers), and HTML token soup (odd markup
declarations, entities, hrefs that are not URLs). The default run makes a few hundred cases per
reader; PINWARDEN_NIGHTLY=1 makes 12,000.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any

import pytest
from tests.test_malformed import SEED, check_error, mutate, sha

from pinwarden.shared.errors import PinwardenError
from pinwarden.shared.index.simple import IndexFile, parse_html_page, parse_json_page, parse_project_page
from pinwarden.shared.model import FileHash

NIGHTLY = os.environ.get("PINWARDEN_NIGHTLY") == "1"
CASES_PER_GENERATOR = 4_000 if NIGHTLY else 120  # three generators: 12,000 per reader nightly
URL = "https://index.example/simple/demo/"

JSON_PAGE = json.dumps(
    {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "versions": ["1.0"],
        "files": [
            {
                "filename": "demo-1.0-py3-none-any.whl",
                "url": "../../files/demo-1.0-py3-none-any.whl",
                "hashes": {"sha256": sha("w").split(":")[1], "blake2b": "00"},
                "requires-python": ">=3.8",
                "size": 1234,
                "upload-time": "2026-01-01T00:00:00.000000Z",
                "yanked": False,
            },
            {
                "filename": "demo-1.0.tar.gz",
                "url": "https://files.example/demo-1.0.tar.gz",
                "hashes": {"sha512": sha("s", "sha512").split(":")[1]},
                "yanked": "broken",
                "core-metadata": {"sha256": sha("m").split(":")[1]},
            },
        ],
    },
    indent=1,
)

HTML_PAGE = f"""<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.1"><title>Links for demo</title>
<base href="https://index.example/simple/demo/"></head>
<body><h1>Links for demo</h1>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256={sha("w").split(":")[1]}"
   data-requires-python="&gt;=3.8">demo-1.0-py3-none-any.whl</a><br/>
<a href="https://files.example/demo-1.0.tar.gz#sha512={sha("s", "sha512").split(":")[1]}"
   data-yanked="broken">demo-1.0.tar.gz</a><br/>
<a href="demo-0.9.zip#md5={sha("z", "md5").split(":")[1]}" data-dist-info-metadata="true">demo-0.9.zip</a>
</body></html>
"""


def check_files(files: tuple[IndexFile, ...]) -> None:
    """A correct parse: every file has a name, an absolute URL and well-formed hashes."""
    for file in files:
        assert isinstance(file.filename, str) and file.filename.strip()
        assert isinstance(file.url, str)
        assert all(isinstance(h, FileHash) for h in file.hashes)
        assert file.yanked is True or file.yanked is False or isinstance(file.yanked, str)
        assert file.size is None or (isinstance(file.size, int) and file.size >= 0)


def run_reader(parse: Callable[[str, str], tuple[IndexFile, ...]], text: str) -> str:
    try:
        check_files(parse(text, URL))
    except PinwardenError as exc:
        check_error("index", exc, text)
        return "error"
    return "parsed"


# ---------------------------------------------------------------------------------------------
# structural edits of the JSON document


HUGE = "__huge__"  # becomes 5,000 digits: past Python's int-from-text limit


def _odd_value(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            0,
            -1,
            HUGE,
            1.5,
            float("inf"),
            "",
            " ",
            "x" * 300,
            "\x00",
            "../../etc/passwd",
            "http://[::1",
            [],
            [None],
            {},
            {"sha256": None},
            {"SHA256": "AB" * 32},
            {"sha256": "zz"},
            {"md5": "0" * 32},
        ]
    )


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*path, i))
    return found


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _set(copy[head], rest, new)
    return copy


def json_structure(rng: random.Random) -> str:
    data: Any = json.loads(JSON_PAGE)
    for _ in range(rng.choice([1, 1, 2, 3])):
        paths = _paths(data)
        path = rng.choice(paths)
        choice = rng.random()
        if choice < 0.7:
            data = _set(data, path, _odd_value(rng))
        elif choice < 0.85 and path and isinstance(data, dict | list):
            data = _set(data, path, [data] if rng.random() < 0.5 else {"files": data})
        else:
            return rng.choice(["[" * 100_000, '{"a":' * 50_000, json.dumps(data)[: rng.randrange(1, 200)]])
    return json.dumps(data, allow_nan=True).replace(f'"{HUGE}"', "9" * 5000)


# ---------------------------------------------------------------------------------------------
# HTML token soup

_HTML_TOKENS = [
    "<a>",
    "</a>",
    "<a href>",
    '<a href="">x</a>',
    "<a href='#sha256=zz'>f.whl</a>",
    '<a href="http://[::1/x.whl">x.whl</a>',
    '<a href="//evil.example/x.whl">x.whl</a>',
    '<a href="x.whl#sha256">x.whl</a>',
    '<a href="x.whl#=abc">x.whl</a>',
    '<a href="x.whl#sha256=' + "A" * 64 + '">x.whl</a>',
    '<a href="x.whl" data-yanked>x.whl</a>',
    '<a href="x\n.whl"></a>',
    '<a href="x.whl" data-requires-python="\r\n">x\n.whl</a>',
    '<base href="http://[">',
    "<base>",
    "<![CDATA[x]]>",
    "<![if x]>",
    "<![",
    "<!",
    "<!-",
    "<!--",
    "<?php",
    "<!DOCTYPE",
    "&#0;",
    "&#xFFFFFFFF;",
    "&#99999999999;",
    "&amp",
    "&;",
    "<",
    ">",
    "</",
    "<script>",
    "</script>",
    "<style>",
    "<textarea>",
    "<plaintext>",
    "\x00",
    "\ud800",
    "demo-1.0.tar.gz",
    "\n",
    " ",
]


def html_soup(rng: random.Random) -> str:
    tokens = [rng.choice(_HTML_TOKENS) for _ in range(rng.randrange(1, 40))]
    if rng.random() < 0.5:
        cut = rng.randrange(len(HTML_PAGE))
        return HTML_PAGE[:cut] + "".join(tokens) + HTML_PAGE[cut:]
    return "".join(tokens)


def text_mutation(seed: str) -> Callable[[random.Random], str]:
    return lambda rng: mutate(rng, seed)


READERS: dict[str, Callable[[str, str], tuple[IndexFile, ...]]] = {
    "json": parse_json_page,
    "html": parse_html_page,
}
GENERATORS: dict[str, dict[str, Callable[[random.Random], str]]] = {
    "json": {"text": text_mutation(JSON_PAGE), "structure": json_structure, "soup": html_soup},
    "html": {"text": text_mutation(HTML_PAGE), "soup": html_soup, "json": json_structure},
}


def test_seeds_parse() -> None:
    assert len(parse_json_page(JSON_PAGE, URL)) == 2
    assert len(parse_html_page(HTML_PAGE, URL)) == 3


@pytest.mark.parametrize(
    ("reader", "generator"), [(r, g) for r, generators in GENERATORS.items() for g in generators]
)
def test_malformed_pages_parse_or_raise_input_error(reader: str, generator: str) -> None:
    rng = random.Random(f"{SEED}-index-{reader}-{generator}")
    make, parse = GENERATORS[reader][generator], READERS[reader]
    outcomes = {"parsed": 0, "error": 0}
    for number in range(CASES_PER_GENERATOR):
        text = make(rng)
        try:
            outcomes[run_reader(parse, text)] += 1
        except Exception as exc:
            raise AssertionError(f"{reader}/{generator} case {number}: {type(exc).__name__}: {exc}") from exc
    print(f"{reader}/{generator}: {outcomes}")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe", "application/vnd.pypi.simple.v1+json"),
        (b"{}", "application/json"),
        (b"<a href=x>x</a>", "text/html; charset=latin-1"),
        (b"", ""),
    ],
)
def test_project_page_dispatch_never_raises_anything_else(body: bytes, content_type: str) -> None:
    try:
        check_files(parse_project_page(body, content_type, URL))
    except PinwardenError as exc:
        check_error("index", exc, "")
