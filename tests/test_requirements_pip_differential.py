"""Issue 10, class 3: pinwarden reads a requirements file as pip reads it, or refuses it.

Generated files stress every step of pip's reading: BOMs and PEP 263 coding lines (line 1 or 2,
many codecs, written in another codec than declared), `\\` continuations meeting `#` comments,
line endings pip splits on (CRLF, CR, form feed, U+2028), tabs, `--hash` spellings and placement,
quoting, abbreviated and unknown options, `${VAR}`, markers, extras, name and version spellings,
paths, archives and URLs. pip's own parser (pip._internal, in the test only) is the oracle: for
every file pinwarden accepts, (normalized name, version, marker, set of hashes) per requirement
must equal pip's, and a file pip cannot read must be refused. 2,000 files per run;
PINWARDEN_NIGHTLY=1 makes 20,000.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name, canonicalize_version

from pinwarden.shared.errors import InputError
from pinwarden.shared.locks.requirements import parse_requirements_bytes
from pinwarden.shared.model import LockedRelease, SourceKind

NIGHTLY = os.environ.get("PINWARDEN_NIGHTLY") == "1"
FILES = 20_000 if NIGHTLY else 2_000
ENV_VAR = "PINWARDEN_DIFF_VERSION"

View = list[tuple[str, str | None, str | None, frozenset[str]]]


def digest(tag: str, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, tag.encode()).hexdigest()


H1, H2, H3 = (f"sha256:{digest(t)}" for t in ("one", "two", "three"))
H512 = f"sha512:{digest('four', 'sha512')}"

_session: Any = None


def pip_view(path: Path) -> View | None:
    """What pip reads: per requirement (name, version of a == pin, marker, hashes); None if pip fails."""
    global _session  # noqa: PLW0603 - one PipSession for thousands of files
    from pip._internal.network.session import PipSession
    from pip._internal.req.constructors import install_req_from_parsed_requirement
    from pip._internal.req.req_file import parse_requirements

    if _session is None:
        _session = PipSession()
    view: View = []
    try:
        for parsed in parse_requirements(str(path), session=_session):
            if parsed.is_editable:
                continue
            # As `pip install -r` makes it: a requirements file's lines are the user's own.
            ireq = install_req_from_parsed_requirement(parsed, user_supplied=True)
            req = ireq.req
            if req is None:
                return None  # a file or URL without a name: pinwarden must refuse it
            pins = [s.version for s in req.specifier if s.operator in ("==", "===")]
            version = pins[0] if len(pins) == 1 and req.url is None else None
            # pinwarden keys versions by their canonical form (one identity); pip's Version equality
            version = canonicalize_version(version) if version is not None else None
            # Every hash pip accepts for the file: --hash options and a direct URL's own (#sha256=).
            allowed = ireq.hashes(trust_internet=False)._allowed
            hashes = frozenset(f"{a}:{d}" for a, ds in allowed.items() for d in ds)
            marker = str(ireq.markers) if ireq.markers else None
            view.append((canonicalize_name(req.name), version, marker, hashes))
    except Exception:  # any failure of pip's is a file pip cannot read
        return None
    return view


def our_view(path: Path) -> View | None:
    try:
        lock = parse_requirements_bytes(path.read_bytes(), path.name)
    except InputError:
        return None
    return [
        (r.name, None if r.source_kind is SourceKind.URL else r.version, r.marker, hashes_of(r))
        for r in lock.releases
    ]


def hashes_of(release: LockedRelease) -> frozenset[str]:
    return frozenset(str(f.hash) for f in release.files)


def assert_same_reading(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requirements.txt"
        path.write_bytes(data)
        ours = our_view(path)
        if ours is None:
            return  # refused: always allowed
        theirs = pip_view(path)
    assert theirs is not None, f"pinwarden accepts a file pip cannot read: {data!r}\n{ours}"
    # pip leaves a direct URL's version to the download (None on both sides).
    assert ours == theirs, f"pinwarden and pip read {data!r} differently"


# ---------------------------------------------------------------------------------------------
# building blocks

names = st.sampled_from(["six", "Six", "zope.interface", "Zope_Interface", "a-b_c.d", "A", "x1"])
extras = st.sampled_from(["", "[socks]", "[a,B]", "[ x ]"])
versions = st.sampled_from(
    ["1.0", "1.0.0", "01.0", "1.0a1", "1.0RC1", "1.0.post1", "1!2.0", "1.0+local", "v1.0", "1.0-1",
     "1.0+tar.gz", "1.0+zip", "1.0.*", f"${{{ENV_VAR}}}", "1.${X}", "$VERSION"]
)  # fmt: skip
operators = st.sampled_from(["==", "==", " == ", "===", "~=", ">=", "="])
markers = st.sampled_from(
    ["", "; python_version < '3.8'", ';sys_platform == "win32"', " ; ", "; python_version < '3;'",
     ";os_name=='nt' and python_version>='3'"]
)  # fmt: skip
hash_values = st.sampled_from(
    [H1, H2, H3, H512, H1.upper(), "SHA256:" + H1[7:], "md5:" + "0" * 32, "sha256:"]
)
hash_forms = st.sampled_from(
    ["--hash={}", "--hash={}", "--hash {}", "--hash='{}'", '--hash="{}"', "--has={}", "-hash={}",
     "--hash={}#x", "--hash=\\\n    {}", "--hash \\\n{}"]
)  # fmt: skip
separators = st.sampled_from([" ", " ", " \\\n    ", " \\\r\n    ", "\t", " \t", "  ", " \\\n", "\\\n"])
comments = st.sampled_from(["", " # note", "  # via -r requirements.in", "#x", " # note \\", " #"])
option_lines = st.sampled_from(
    ["--index-url http://127.0.0.1:1/simple", "-i http://x.example/simple", "-ihttp://x.example/s",
     "-i=http://x.example/s", "--extra-index-url=http://y.example/s", "--pre", "--pre=1", "--no-index",
     "--prefer-binary", "--require-hashes", "--no-require-hashes", "--no-binary :all:",
     "--only-binary=:all:", "--trusted-host x.example", "-f ./wheels", "--find-links=./w", "-r other.txt",
     "-c constraints.txt", "-e ./local", "-e git+https://x.example/r.git#egg=r", "--use-feature=fast-deps",
     "--frob", "--", "--index", "--extra-index-url", f"--hash={H1}", f"--hash={H1} six==1.0",
     "-i http://x.example/s --pre", "--config-settings=a=b"]
)  # fmt: skip
plain_comment_lines = st.sampled_from(
    ["# comment", "#", "   # indented", "\t# tab", "# -*- coding: latin-1 -*-", "#via \\", "", "   "]
)
url_requirements = st.sampled_from(
    ["six @ https://files.example/six-1.0.tar.gz", "six@https://files.example/p/six-1.0-py3-none-any.whl",
     "https://files.example/six-1.0.tar.gz", "./six-1.0-py3-none-any.whl", "six-1.0.tar.gz",
     "six @ https://files.example/a;b/six-1.0.tar.gz", "six @ file:///tmp/six-1.0.tar.gz",
     "git+https://x.example/six.git#egg=six",
     # A hash in the URL is one pip accepts too (round 5): any place, any algorithm, the first one.
     f"six @ https://files.example/six-1.0.tar.gz#{H2.replace(':', '=')}",
     f"six @ https://files.example/six-1.0.tar.gz?a=1&{H2.replace(':', '=')}",
     f"six @ https://files.example/six-1.0.tar.gz#egg=six&{H512.replace(':', '=')}",
     f"six @ https://files.example/six-1.0.tar.gz#md5={digest('x', 'md5')}",
     f"six @ https://files.example/six-1.0.tar.gz#sha1={digest('x', 'sha1')}&{H2.replace(':', '=')}",
     f"six @ https://files.example/six-1.0.tar.gz#sha224={digest('x', 'sha224')}",
     f"six @ https://files.example/six-1.0.tar.gz#SHA256={H2.partition(':')[2]}",
     f"six @ https://files.example/six-1.0.tar.gz#sha256={H2.partition(':')[2].upper()}",
     "six @ https://files.example/six-1.0.tar.gz#sha256=nothex",
     f"six @ https://files.example/six-1.0.tar.gz#xsha256={H2.partition(':')[2]}"]
)  # fmt: skip


clean = {
    "names": names,
    "extras": st.sampled_from(["", "", "[socks]"]),
    "versions": st.sampled_from(["1.0", "1.0.0", "2.31.0", "1.0a1", "1!2.0", "1.0+local", "1.0.post1"]),
    "operators": st.sampled_from(["==", "==", " == ", "==="]),
    "markers": st.sampled_from(["", "", "; python_version < '3.8'", ' ; sys_platform == "win32"']),
    "hash_values": st.sampled_from([H1, H2, H3, H512]),
    "hash_forms": st.sampled_from(["--hash={}", "--hash={}", "--hash {}", "--hash='{}'"]),
    "separators": st.sampled_from([" ", " \\\n    ", " \\\r\n    ", " \\\n", "  "]),
    "comments": st.sampled_from(["", "", " # note", "  # via -r requirements.in"]),
}
tricky = {
    "names": names,
    "extras": extras,
    "versions": versions,
    "operators": operators,
    "markers": markers,
    "hash_values": hash_values,
    "hash_forms": hash_forms,
    "separators": separators,
    "comments": comments,
}


@st.composite
def requirement_lines(draw: st.DrawFn, parts: dict[str, Any]) -> str:
    if parts is tricky and draw(st.integers(0, 9)) == 0:
        head = draw(url_requirements)
    else:
        head = draw(parts["names"]) + draw(parts["extras"]) + draw(parts["operators"])
        head += draw(parts["versions"])
    head += draw(parts["markers"])
    hashes = draw(st.lists(st.tuples(parts["hash_forms"], parts["hash_values"]), min_size=1, max_size=3))
    line = head
    for form, value in hashes:
        line += draw(parts["separators"]) + form.format(value)
    return line + draw(parts["comments"])


clean_lines = st.one_of(
    requirement_lines(clean), requirement_lines(clean), requirement_lines(clean), plain_comment_lines
)
# Text only some codecs see: an escape unicode_escape turns into a new line, a UTF-7 run.
hidden = st.sampled_from(["# caf\u00e9", "# \\nsix==2.0 --hash=" + H2, "+AAo-six==2.0 --hash=" + H2])
tricky_lines = st.one_of(requirement_lines(tricky), option_lines, plain_comment_lines, hidden)
newlines = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r", "\x0c", "\u2028", "\x85"])
codec_names = st.sampled_from(
    ["latin-1", "utf-8", "UTF8", "cp1252", "utf-16", "utf-16-le", "utf-7", "ascii", "cp037",
     "unicode_escape", "raw_unicode_escape", "rot13", "no-such-codec", "koi8-r", "shift_jis", "utf-8-sig"]
)  # fmt: skip
coding_forms = st.sampled_from(
    ["# -*- coding: {} -*-", "#coding={}", "# vim: set fileencoding={} :", "#!python\n# coding: {}",
     "## coding:{}", " # coding: {}"]
)  # fmt: skip
writers = st.sampled_from(["declared", "declared", "utf-8", "latin-1", "utf-16"])
BOM_CODECS = {
    codecs.BOM_UTF8: "utf-8",
    codecs.BOM_UTF16_LE: "utf-16-le",
    codecs.BOM_UTF16_BE: "utf-16-be",
    codecs.BOM_UTF32_LE: "utf-32-le",
}
boms = st.sampled_from([b"", b"", b"", *BOM_CODECS])


def _encode(text: str, codec: str) -> bytes:
    try:
        return text.encode(codec)
    except (UnicodeError, LookupError):
        return text.encode("utf-8", "surrogatepass")


@st.composite
def requirement_files(draw: st.DrawFn) -> bytes:
    """Mostly clean lines with a few tricks (so that pinwarden accepts enough files for the
    comparison to mean something), sometimes many; then a coding line or a BOM, or neither."""
    level = draw(st.integers(0, 5))
    count = draw(st.integers(1, 8))
    body = [draw(tricky_lines if draw(st.integers(0, 9)) < level else clean_lines) for _ in range(count)]
    newline = draw(newlines) if level else "\n"
    end = draw(st.sampled_from(["", newline, newline, "\\", "\\\n"]))
    if draw(st.integers(0, 2)) == 0:
        codec = draw(codec_names)
        body.insert(draw(st.integers(0, 1)), draw(coding_forms).format(codec))
        writer = draw(writers)
        return _encode(newline.join(body) + end, codec if writer == "declared" else writer)
    bom = draw(boms)
    text = newline.join(body) + end
    if bom:
        return bom + _encode(text, BOM_CODECS[bom] if draw(st.booleans()) else "utf-8")
    return text.encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------------------------------------
# the property, and fixed regressions


@pytest.fixture(autouse=True)
def _env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip expands ${VAR} from the environment: give one a value that reads as a version."""
    monkeypatch.setenv(ENV_VAR, "2.0")


REGRESSIONS = [
    # A comment ending in `\` continues onto the next line: pip never sees the second pin.
    f"six==1.0 --hash={H1} # trusted \\\nsix==2.0 --hash={H2}\n".encode(),
    # pip joins first: the hash on the next line belongs to the pin.
    f"six==1.0 \\\n--hash={H1}\n".encode(),
    # A coding line makes pip read the escaped new line as a line break.
    f"# -*- coding: unicode_escape -*-\nsix==1.0 --hash={H1} # \\nsix==2.0 --hash={H2}\n".encode(),
    f"# coding: utf-7\nsix==1.0 --hash={H1} +AAo-six==2.0 --hash={H2}\n".encode(),
    # Latin-1 comments: both readings agree.
    f"# -*- coding: latin-1 -*-\n# caf\u00e9\nsix==1.0 --hash={H1}\n".encode("latin-1"),
    # A UTF-16 file with its BOM; and one without (pip falls back to the locale).
    codecs.BOM_UTF16_LE + f"six==1.0 --hash={H1}\n".encode("utf-16-le"),
    f"six==1.0 --hash={H1}\n".encode("utf-16-le"),
    # Line breaks pip splits on that a byte-level reader would not.
    f"six==1.0 --hash={H1}\u2028six==2.0 --hash={H2}\n".encode(),
    f"six==1.0 --hash={H1}\rsix==2.0 --hash={H2}\r".encode(),
    # A tab is no separator for pip's option split.
    f"six==1.0\t--hash={H1}\n".encode(),
    # Environment variables, abbreviations, quoting, pins pip takes for files.
    f"six==${{{ENV_VAR}}} --hash={H1}\n".encode(),
    f"six==1.0 --has={H1}\n".encode(),
    f"six==1.0 --hash='{H1}'\n".encode(),
    f"six==1.0+tar.gz --hash={H1}\n".encode(),
    f"six==1.0 ; python_version < '3;' --hash={H1}\n".encode(),
    f"--hash={H1} six==1.0\n".encode(),
    f"six==1.0 --hash={H1} six==2.0\n".encode(),
]


@pytest.mark.parametrize("data", REGRESSIONS, ids=range(len(REGRESSIONS)))
def test_regressions_read_as_pip_reads(data: bytes) -> None:
    assert_same_reading(data)


@settings(
    max_examples=FILES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@example(REGRESSIONS[0])
@given(requirement_files())
def test_generated_files_read_as_pip_reads(data: bytes) -> None:
    assert_same_reading(data)


def test_generated_files_are_mostly_accepted_and_varied() -> None:
    """The property is empty if pinwarden refuses everything: enough files must be read, and some
    of those must hold hashes and markers."""
    accepted = 0
    samples = []

    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(requirement_files())
    def collect(data: bytes) -> None:
        nonlocal accepted
        try:
            lock = parse_requirements_bytes(data)
        except InputError:
            return
        accepted += 1
        samples.append(lock)

    collect()
    hashed = [lock for lock in samples if lock.releases]
    assert accepted >= 40, accepted
    assert len(hashed) >= 20, len(hashed)


CODEC_NAMES = ["idna", "punycode", "utf-16", "cp037", "unicode_escape", "base64", "zlib", "mbcs", "x"]


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.sampled_from(["", *(f"# coding: {c}\n" for c in CODEC_NAMES)]).map(str.encode),
    st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
def test_any_bytes_are_read_or_refused_never_crash(head: bytes, body: bytes) -> None:
    """Whatever the bytes, the reader answers with a lock or an InputError (one line), never a crash."""
    try:
        parse_requirements_bytes(head + body)
    except InputError as exc:
        assert "\n" not in str(exc)
