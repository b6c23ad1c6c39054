"""Hashed requirements file (as pip-compile writes it) -> locked releases, read exactly as pip reads it.

pip's reading, step by step (pip._internal.req.req_file): decode the bytes (a BOM, else a PEP 263
`coding` line in line 1 or 2, else UTF-8, else the machine's locale); split lines; join a line
ending in `\\` with the next one *before* comments are stripped (so a comment can swallow the next
line); strip `(^|\\s+)#.*$`; expand `${VAR}`; split each line at the first space-separated token
that starts with `-` into a requirement and options (shlex, then optparse); a requirement that looks
like a path, an archive or a URL is a file, not a name. Whatever pinwarden cannot read the same way
for certain is refused: an unknown encoding or the locale fallback, `${VAR}`, includes, abbreviated
or unknown options, options pip would silently drop, paths and bare URLs. A requirements file pins
hashes without filenames, so its files have `filename=None`, except for a direct URL whose last path
segment names the file.
"""

from __future__ import annotations

import codecs
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from ..errors import Collector, InputError, Problem
from ..model import (
    STRONG_ALGORITHMS,
    FileHash,
    InvalidValue,
    LockedFile,
    LockedRelease,
    LockFile,
    NormalizedName,
    SourceKind,
    normalize_name,
)

if TYPE_CHECKING:
    from packaging.requirements import Requirement

FORMAT = "requirements"
WHAT = "hashed requirements file"
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{[A-Z0-9_]+\}")
# pip looks for this anywhere in line 1 or 2 (split at b"\n") when the line starts with "#".
_CODING = re.compile(rb"coding[:=]\s*([-\w.]+)")
# Order matters: the UTF-16 LE BOM is a prefix of the UTF-32 LE one.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# pip's options in a requirements file, spelled in full (optparse also takes unique prefixes, which
# depend on pip's version: pinwarden refuses them). Value: the canonical spelling.
_VALUE_OPTIONS = {
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--pypi-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-c": "--constraint",
    "--constraint": "--constraint",
    "-r": "--requirement",
    "--requirement": "--requirement",
    "-e": "--editable",
    "--editable": "--editable",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "--no-binary": "--no-binary",
    "--only-binary": "--only-binary",
    "--all-releases": "--all-releases",
    "--only-final": "--only-final",
    "--trusted-host": "--trusted-host",
    "--use-feature": "--use-feature",
    "--hash": "--hash",
    "-C": "--config-settings",
    "--config-settings": "--config-settings",
}
_FLAG_OPTIONS = {"--no-index", "--prefer-binary", "--require-hashes", "--no-require-hashes", "--pre"}
# Options that change what pip installs or checks beyond the pinned hashes.
_REFUSED = {
    "--no-require-hashes": "turns off pip's hash checking for what the file does not list",
    "--use-feature": "changes how pip installs",
    "--config-settings": "changes how pip builds",
}
_INCLUDES = {"--requirement", "--constraint"}
_SHLEX_SPACE = re.compile(r"[ \t\r\n]+")
_SHLEX_SPECIAL = re.compile(r"['\"\\]")
# A TOML table header as a Poetry lock has them (`[[package]]`, `[metadata.files]`): pip takes such a
# line for a requirement, which cannot start with `[`, and stops before it installs anything. With
# no `/`, `:`, `;`, `$`, leading `.` nor token starting with `-`, no machine reads it as a path, a
# URL, markers, ${VAR} or an option instead.
_TOML_KEY = r"""(?:[A-Za-z0-9_][A-Za-z0-9_-]*|"[A-Za-z0-9_.-]+"|'[A-Za-z0-9_.-]+')"""
_TOML_KEYS = rf"[ \t]*{_TOML_KEY}(?:[ \t]*\.[ \t]*{_TOML_KEY})*[ \t]*"
_TOML_HEADER = re.compile(rf"\[{_TOML_KEYS}\]|\[\[{_TOML_KEYS}\]\]")
# pip takes a requirement ending like this for a local archive file.
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz")
_ARCHIVES_MORE = (".tar.lz", ".tar.lzma")
_HEX = {
    "sha256": re.compile(r"[0-9a-f]{64}"),
    "sha384": re.compile(r"[0-9a-f]{96}"),
    "sha512": re.compile(r"[0-9a-f]{128}"),
}
# What pip-compile writes for almost every pin: a PEP 508 name, `==`, a plain PEP 440 version. Read
# without packaging, whose import costs more than reading a whole file; anything else (extras,
# markers, URLs, spaces, epochs, local versions...) goes to packaging. Tests pin both to one result.
_PLAIN_PIN = re.compile(
    r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)"
    r"==(\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?)",
    re.ASCII,
)


@dataclass
class _State:
    path: str
    problems: Collector = field(default_factory=Collector)
    index_urls: list[str] = field(default_factory=list)
    releases: list[LockedRelease] = field(default_factory=list)
    index: str | None = None
    unhashed: list[tuple[str, str]] = field(default_factory=list)  # (where, name) of pins without --hash
    options: list[tuple[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# bytes -> text


def parse_requirements_bytes(data: bytes, path: str = "requirements.txt") -> LockFile:
    """Read a requirements file's bytes as pip decodes them; a coding line must not change the pins."""
    text, declared = decode_requirements(data, path)
    lock = parse_requirements(text, path)
    if declared is not None:
        _same_as_utf8(data, lock, declared, path)
    return lock


def decode_requirements(data: bytes, path: str = "requirements.txt") -> tuple[str, str | None]:
    """(text as pip decodes it, the codec a coding line declared or None); refuses what pip leaves to
    the installing machine (its locale) or cannot decode."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom) :], encoding, path, "its byte order mark"), None
    for line in data.split(b"\n")[:2]:
        if line[:1] == b"#":
            match = _CODING.search(line)
            if match is not None:
                codec = match.group(1).decode("ascii")
                return _decode(data, codec, path, f"its coding line ({codec})"), codec
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        raise _error(
            path,
            "",
            f"not UTF-8 ({exc.reason} at byte {exc.start}) and no coding line: pip would decode it with "
            "the installing machine's locale; declare the encoding with '# -*- coding: NAME -*-'",
        ) from None


def pip_refuses(data: str | bytes) -> bool:
    """Whether pip refuses the whole file on any machine: one of its lines, decoded, joined and
    stripped as pip does, is a TOML table header. pip reads every line before it installs.
    Bytes pip would decode by the machine's locale are never taken as refused."""
    if isinstance(data, bytes):
        try:
            data, _ = decode_requirements(data)
        except InputError:
            return False
    return any(_TOML_HEADER.fullmatch(line) for _, line in _logical_lines(data))


def _decode(data: bytes, codec: str, path: str, source: str) -> str:
    import warnings

    try:
        with warnings.catch_warnings():  # unicode_escape warns about unknown escapes, as pip's does
            warnings.simplefilter("ignore")
            return data.decode(codec)
    except LookupError:
        raise _error(path, "line 1", f"unknown encoding {codec!r} named by {source}") from None
    except UnicodeDecodeError as exc:
        raise _error(path, "", f"not {codec} as {source} says ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:  # some codecs (idna, punycode) raise a bare UnicodeError
        raise _error(path, "", f"not {codec} as {source} says ({exc})") from None


def _same_as_utf8(data: bytes, lock: LockFile, codec: str, path: str) -> None:
    """A coding line may not make pip read other pins than a person reading UTF-8 sees (a review
    tool, a diff): pinwarden accepts it only when both readings give the same lock."""
    if codecs.lookup(codec).name == "utf-8":
        return
    try:
        shown = parse_requirements(data.decode("utf-8", "surrogateescape"), path)
    except InputError:
        shown = None
    if shown != lock:
        raise _error(
            path,
            "line 1",
            f"the coding line ({codec}) makes pip read other requirements than the file shows as UTF-8",
        )


def _error(path: str, where: str, message: str) -> InputError:
    return InputError(path, WHAT, [Problem(where, message)])


# ---------------------------------------------------------------------------------------------
# text -> lines


def parse_requirements(text: str, path: str = "requirements.txt") -> LockFile:
    state = _State(path)
    for lineno, line in _logical_lines(text):
        _parse_line(state, lineno, line)
    _report_unhashed(state)
    state.problems.problems.sort(key=_line_number)
    state.problems.raise_if_any(path, WHAT)
    if state.index is not None:
        state.releases = [_with_index(r, state.index) for r in state.releases]
    return LockFile(
        path=path,
        format=FORMAT,
        releases=tuple(state.releases),
        index_urls=tuple(state.index_urls),
        options=tuple(state.options),
    )


def _line_number(problem: Problem) -> int:
    return int(problem.where.removeprefix("line ") or 0)


def _with_index(release: LockedRelease, index: str) -> LockedRelease:
    if release.source_kind is not SourceKind.INDEX or release.source_url is not None:
        return release
    return LockedRelease(
        name=release.name,
        version=release.version,
        files=release.files,
        lockfile=release.lockfile,
        source_url=index,
        marker=release.marker,
    )


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line number, line), joined and stripped of comments in pip's order."""
    for number, joined in _joined_lines(text):
        line = _COMMENT.sub("", joined).strip()
        if line:
            yield number, line


def _joined_lines(text: str) -> Iterator[tuple[int, str]]:
    """pip joins before it strips comments: `a # note \\` continues, and swallows the next line.
    A line that is only a comment ends a continuation; `strip("\\\\")` takes backslashes at both ends."""
    pending: list[str] = []
    start = 0
    for number, physical in enumerate(text.splitlines(), start=1):
        comment = _COMMENT.match(physical) is not None
        if physical.endswith("\\") and not comment:
            if not pending:
                start = number
            pending.append(physical.strip("\\"))
            continue
        line = " " + physical if comment else physical
        if pending:
            pending.append(line)
            yield start, "".join(pending)
            pending = []
        else:
            yield number, line
    if pending:
        yield start, "".join(pending)


# ---------------------------------------------------------------------------------------------
# one line


def _parse_line(state: _State, lineno: int, line: str) -> None:
    where = f"line {lineno}"
    if _ENV_VAR.search(line):
        state.problems.add(
            where, "uses ${VAR}: pip replaces it from the environment it installs in, unknown here"
        )
        return
    requirement, option_text = _split_args_options(line)
    options = _parse_options(state, where, option_text)
    if options is None:
        return
    if requirement:
        _requirement_line(state, where, requirement, options)
    else:
        _option_line(state, where, options)


def _split_args_options(line: str) -> tuple[str, str]:
    """pip splits at single spaces: the requirement ends at the first token that starts with `-`."""
    tokens = line.split(" ")
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]), " ".join(tokens[i:])
    return line, ""


class _Refused(Exception):
    """An option line pinwarden cannot read as pip does; the message says why."""


def _parse_options(state: _State, where: str, text: str) -> list[tuple[str, str | None]] | None:
    """[(canonical option, value)] as optparse reads pip's options, or None after a problem."""
    try:
        rest = list(reversed(_option_tokens(text)))
        options = []
        while rest:
            options.append(_one_option(rest.pop(), rest))
    except _Refused as exc:
        state.problems.add(where, str(exc))
        return None
    return options


def _option_tokens(text: str) -> list[str]:
    if _SHLEX_SPECIAL.search(text) is None:  # no quotes nor escapes: shlex.split gives the same
        return [t for t in _SHLEX_SPACE.split(text) if t]
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise _Refused(f"cannot split the options ({exc})") from None


def _one_option(token: str, rest: list[str]) -> tuple[str, str | None]:
    """optparse: `--name=value` or `--name value`; `-Xvalue` or `-X value`; the value may start with
    `-`. Anything that is not an option is dropped by pip, so refused here."""
    if not token.startswith("-") or token in ("-", "--"):
        raise _Refused(f"pip ignores {token!r} here: write one requirement per line")
    if token.startswith("--"):
        name, eq, value = token.partition("=")
        inline: str | None = value if eq else None
    else:  # a short option takes the rest of its token as its value, `=` included
        name, inline = token[:2], (token[2:] or None)
    if name in _FLAG_OPTIONS:
        if inline is not None:
            raise _Refused(f"{name} takes no value")
        return name, None
    canonical = _VALUE_OPTIONS.get(name)
    if canonical is None:
        raise _Refused(f"unknown option {name} (pinwarden reads pip's options spelled in full)")
    if inline is None:
        if not rest:
            raise _Refused(f"{name} needs a value")
        inline = rest.pop()
    return canonical, inline


def _option_line(state: _State, where: str, options: list[tuple[str, str | None]]) -> None:
    names = [name for name, _ in options]
    if "--hash" in names:
        # pip reads a line that starts with an option as options only: it would drop a requirement
        # written after the hash, so reading one here would guard what pip does not install.
        state.problems.add(where, "--hash without a requirement (pip ignores this line)")
        return
    if "--editable" in names:
        _editable(state, where, options)
        return
    state.options.extend((name, value or "") for name, value in options)
    for name, value in options:
        if name in _INCLUDES:
            state.problems.add(where, f"{name} includes another file: name that file to pinwarden instead")
        elif name in _REFUSED:
            state.problems.add(where, f"{name} {_REFUSED[name]}")
        elif name in ("--index-url", "--extra-index-url"):
            if not value:
                state.problems.add(where, f"{name} needs a value")
                continue
            state.index_urls.append(value)
            if name == "--index-url":
                state.index = value


def _editable(state: _State, where: str, options: list[tuple[str, str | None]]) -> None:
    """Local code, no hash to guard; pip installs nothing else from this line."""
    if len(options) != 1:
        state.problems.add(where, "an editable requirement with other options: write one per line")
        return
    target = options[0][1] or ""
    try:
        scheme = urlsplit(target).scheme.lower()
    except ValueError:
        scheme = "?"
    if scheme not in ("", "file"):
        state.problems.add(where, f"-e {target}: fetched from the network with no hash to check")


def _requirement_line(
    state: _State, where: str, requirement: str, options: list[tuple[str, str | None]]
) -> None:
    hashes: list[FileHash] = []
    for name, value in options:
        if name != "--hash":
            # pip ignores most options on a requirement line; the rest change how it builds.
            state.problems.add(where, f"unexpected option {name} after a requirement")
            return
        parsed = _hash(state, where, value or "")
        if parsed is None:
            return
        hashes.append(parsed)
    hashes = list(dict.fromkeys(hashes))  # pip keeps a repeated hash twice; once is the same check
    plain = _PLAIN_PIN.fullmatch(requirement)
    if plain is None:
        _parse_with_packaging(state, where, requirement, hashes)
        return
    raw_name, version = plain.groups()
    if not hashes:
        state.unhashed.append((where, raw_name))
        return
    state.releases.append(
        LockedRelease(
            name=normalize_name(raw_name),
            version=version,
            files=tuple(LockedFile(None, h) for h in hashes),
            lockfile=state.path,
        )
    )


def _hash(state: _State, where: str, value: str) -> FileHash | None:
    """pip takes `algorithm:digest` with a strong algorithm spelled in lower case; it compares the
    digest with a lower-case hexdigest, so any other spelling can never match."""
    algorithm, sep, digest = value.partition(":")
    if not sep:
        state.problems.add(where, f"--hash {value!r} is not of the form algorithm:hex")
        return None
    if algorithm not in STRONG_ALGORITHMS:
        state.problems.add(where, f"--hash {value!r}: pip accepts only {', '.join(STRONG_ALGORITHMS)}")
        return None
    if not _HEX[algorithm].fullmatch(digest):
        state.problems.add(where, f"--hash {value!r} is not a {algorithm} digest in lower-case hex")
        return None
    return FileHash(algorithm, digest)


def _report_unhashed(state: _State) -> None:
    if not state.unhashed:
        return
    if not state.releases:  # hashes stripped, or never there: one problem says it all
        (where, name), more = state.unhashed[0], len(state.unhashed) - 1
        others = f" and {more} more requirement(s)" if more else ""
        state.problems.add(
            where, f"{name}{others}: no --hash in the whole file, so pip installs whatever the index serves"
        )
        return
    for where, name in state.unhashed:
        state.problems.add(where, f"{name} has no --hash (pip refuses the whole file under --require-hashes)")


# ---------------------------------------------------------------------------------------------
# the requirement itself


def _pip_takes_as_file(requirement: str) -> str | None:
    """Why pip would read this as a URL, a path or an archive file rather than a name, else None."""
    try:
        scheme = urlsplit(requirement).scheme
    except ValueError:
        return "not a requirement pinwarden can read"
    if scheme:
        return "a URL: pin it as 'name @ URL'"
    head = requirement.split(";", 1)[0].strip()
    before_at, at, _ = head.partition("@")
    if at and not _looks_like_path(before_at):
        return None  # `name @ URL`
    if _looks_like_path(head):
        return "a path: pip installs it from the disk"
    if head.lower().endswith(_ARCHIVES + _ARCHIVES_MORE):
        return "pip reads a requirement ending in an archive extension as a file name"
    return None


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith(".")


def _parse_with_packaging(state: _State, where: str, text: str, hashes: list[FileHash]) -> None:
    from packaging.markers import InvalidMarker, Marker
    from packaging.requirements import InvalidRequirement, Requirement

    why = _pip_takes_as_file(text)
    if why is not None:
        state.problems.add(where, f"{text}: {why}")
        return
    # pip cuts the markers off at the first ";" and parses both halves on their own.
    head, _, marker_text = text.partition(";")
    try:
        req = Requirement(head.strip())
        name = normalize_name(req.name)
        marker = Marker(marker_text.strip()) if marker_text.strip() else None
    except (InvalidRequirement, InvalidMarker) as exc:
        # packaging adds the line and a caret below it; the line number says where already.
        first_line = str(exc).partition("\n")[0]
        state.problems.add(where, f"not a requirement: {first_line}")
        return
    except InvalidValue as exc:  # packaging accepts a name ending in "_", PEP 508 does not
        state.problems.add(where, f"not a requirement: {exc}")
        return
    if not hashes:
        state.unhashed.append((where, req.name))
        return
    marker_str = str(marker) if marker else None
    if req.url:
        _direct_url(state, where, req, name, hashes, marker=marker_str)
        return
    pins = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
    if len(pins) != 1 or len(req.specifier) != 1:
        state.problems.add(
            where, f"{req.name}: not pinned to one version with == ({req.specifier or 'no version'})"
        )
        return
    files = tuple(LockedFile(None, h) for h in hashes)
    state.releases.append(
        LockedRelease(name=name, version=pins[0].version, files=files, lockfile=state.path, marker=marker_str)
    )


# pip's `LinkHash`: a hash named anywhere in a direct URL (`#sha256=`, `?x=1&md5=`), the first one,
# is one more hash pip accepts for the file beside the --hash options, weak algorithms included.
_URL_HASH = re.compile(r"[#&](sha512|sha384|sha256|sha224|sha1|md5)=([^&]*)")


def _url_hash(url: str) -> FileHash | str | None:
    """The hash pip reads from a direct URL, None without one; a message when it is not a digest
    pinwarden can compare (pip compares the text as it stands, so only canonical hex is read)."""
    match = _URL_HASH.search(url)
    if match is None:
        return None
    algorithm, value = match.groups()
    try:
        digest = FileHash.parse(f"{algorithm}:{value}")
    except InvalidValue:
        digest = None
    if digest is None or digest.value != value:
        return f"the URL's {algorithm}= hash {value!r} is not a {algorithm} digest in lowercase hex"
    return digest


def _direct_url(
    state: _State,
    where: str,
    req: Requirement,
    name: NormalizedName,
    hashes: list[FileHash],
    *,
    marker: str | None,
) -> None:
    """`name @ https://host/path/name-1.0.tar.gz --hash=...`: the URL names the file, and the only
    version the text gives is its file name's (pip installs what the file's metadata says)."""
    from ..filenames import parse_filename

    url = req.url or ""
    try:
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    except ValueError:  # urlsplit rejects a malformed host such as `http://[x/`
        filename = ""
    version = parse_filename(filename).version if filename else None
    if version is None:
        # A `file:` URL without an archive name is a local directory: pip builds whatever it holds
        # then, pinned by no hash (pip itself refuses one under --hash).
        local = url.lower().startswith("file:") and not filename.lower().endswith(_ARCHIVES + _ARCHIVES_MORE)
        why = ": a local directory, which no hash pins" if local else ""
        state.problems.add(where, f"cannot tell the version of {req.name} from its URL {url}{why}")
        return
    in_url = _url_hash(url)
    if isinstance(in_url, str):
        state.problems.add(where, in_url)
        return
    state.releases.append(
        LockedRelease(
            name=name,
            version=version,
            files=tuple(LockedFile(filename, h) for h in (*hashes, *([in_url] if in_url else []))),
            lockfile=state.path,
            source_kind=SourceKind.URL,
            source_url=url,
            marker=marker,
            version_from_filename=True,
        )
    )
