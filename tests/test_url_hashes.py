"""A hash in a direct URL is one more hash pip accepts; pinwarden reads it too (issue 10, attack round 5).

pip adds the hash a direct URL names (`#sha256=`, `&sha256=` anywhere in the URL, md5 and sha1
too; the first one) to a requirement's `--hash` options, and installs bytes matching either. The
round-5 attacker turned a trusted pin into `demo @ URL#sha256=OTHER --hash=sha256:TRUSTED`: `check`
passed, `pip install -r` installed the other bytes, and `pinwarden pip-compile` wrote such a line
itself. Now pinwarden reads the URL's hash as pip does (an untrusted or weak hash is a finding), or
refuses a value it cannot compare. pip's parser is the oracle; real pip and pip-compile end to end.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.hostile_index import HostileIndex
from tests.support.index import PackageIndex, build_wheel, isolated_env
from tests.test_requirements_pip_differential import assert_same_reading, our_view

from pinwarden.cli import main

GOOD_NAME, GOOD = build_wheel("pwurl-demo", "1.0")
EVIL = build_wheel("pwurl-demo", "1.0", extra_files={"pwurl_demo/evil.py": b"EVIL = 1\n"})[1]
TRUSTED = hashlib.sha256(GOOD).hexdigest()


def hexdigest(data: bytes, algorithm: str) -> str:
    return hashlib.new(algorithm, data).hexdigest()


# Where and how a URL may carry a hash pip reads (and a few it does not): {} is the URL's path.
FORMS = {
    "fragment sha256": "{}#sha256=" + hexdigest(EVIL, "sha256"),
    "query sha256": "{}?a=1&sha256=" + hexdigest(EVIL, "sha256"),
    "after egg": "{}#egg=pwurl-demo&sha512=" + hexdigest(EVIL, "sha512"),
    "sha384": "{}#sha384=" + hexdigest(EVIL, "sha384"),
    "md5": "{}#md5=" + hexdigest(EVIL, "md5"),
    "sha1 first": "{}#sha1=" + hexdigest(EVIL, "sha1") + "&sha256=" + TRUSTED,
    "sha224": "{}#sha224=" + hexdigest(EVIL, "sha224"),
}
NOT_READ_BY_PIP = {
    "upper-case name": "{}#SHA256=" + hexdigest(EVIL, "sha256"),
    "prefixed name": "{}#xsha256=" + hexdigest(EVIL, "sha256"),
}
UNCOMPARABLE = {
    "upper-case hex": "{}#sha256=" + hexdigest(EVIL, "sha256").upper(),
    "not hex": "{}#sha256=nothex",
    "empty": "{}#sha256=",
}
PATH = "https://files.example/p/" + GOOD_NAME
ALL = {**FORMS, **NOT_READ_BY_PIP, **UNCOMPARABLE}


@pytest.mark.parametrize("form", list(ALL))
@pytest.mark.parametrize(
    "options", ["", " --hash=sha256:{t}", " \\\n    --hash=sha256:{t} --hash=sha256:{t}"]
)
def test_pinwarden_reads_a_url_hash_as_pip_does_or_refuses(form: str, options: str) -> None:
    line = f"pwurl-demo @ {ALL[form].format(PATH)}{options.format(t=TRUSTED)}\n"
    assert_same_reading(line.encode())
    assert_same_reading(f"six==1.0 --hash=sha256:{TRUSTED}\n{line}".encode())


@pytest.mark.parametrize("form", list(FORMS))
def test_the_url_hash_is_a_hash_of_the_release(form: str, tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(f"pwurl-demo @ {FORMS[form].format(PATH)} --hash=sha256:{TRUSTED}\n")
    view = our_view(path)
    assert view is not None and len(view[0][3]) == 2  # the option's hash and the URL's


@pytest.mark.parametrize("form", list(ALL))
def test_check_never_passes_a_pin_rewritten_to_a_url_with_another_hash(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    lock = tmp_path / "requirements.txt"
    lock.write_text(f"pwurl-demo==1.0 --hash=sha256:{TRUSTED}\n")
    assert main(["init"], io.StringIO(), io.StringIO()) == 0
    url = ALL[form].format(f"http://127.0.0.1:9/x/{GOOD_NAME}")
    lock.write_text(f"pwurl-demo @ {url} \\\n    --hash=sha256:{TRUSTED}\n")  # the pull request
    out, err = io.StringIO(), io.StringIO()
    code = main(["check"], out, err)
    if form in NOT_READ_BY_PIP:
        # pip checks the download against TRUSTED alone; the URL is still a direct URL to a person.
        assert code in (0, 1), err.getvalue()
    elif form in UNCOMPARABLE:
        assert code == 2 and err.getvalue().startswith("pinwarden: error: "), err.getvalue()
    else:
        assert code == 1, out.getvalue() + err.getvalue()


@pytest.mark.e2e
def test_pip_installs_what_the_url_hash_allows_and_check_refuses_it(tmp_path: Path) -> None:
    """The attacker's stage A as found: real pip installs the other bytes; check says no (exit 1)."""
    project = tmp_path / "project"
    project.mkdir()
    env = isolated_env(tmp_path / "env")
    hostile = HostileIndex()
    hostile.blobs["/x/" + GOOD_NAME] = EVIL
    with hostile.serve():
        url = f"http://127.0.0.1:{hostile.port}/x/{GOOD_NAME}#sha256={hexdigest(EVIL, 'sha256')}"
        (project / "requirements.txt").write_text(f"pwurl-demo==1.0 --hash=sha256:{TRUSTED}\n")
        pw = [sys.executable, "-m", "pinwarden"]
        assert subprocess.run([*pw, "init"], cwd=project, env=env, check=False).returncode == 0
        (project / "requirements.txt").write_text(f"pwurl-demo @ {url} --hash=sha256:{TRUSTED}\n")
        check = subprocess.run(
            [*pw, "check"], cwd=project, env=env, capture_output=True, text=True, check=False
        )
        venv = tmp_path / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
        installed = subprocess.run(
            [*pip, "--no-index", "-r", "requirements.txt"],
            cwd=project,
            env=env,
            capture_output=True,
            check=False,
        )
    assert installed.returncode == 0, installed.stderr  # pip's reading: the URL's hash is allowed
    assert list(venv.glob("lib/python*/site-packages/pwurl_demo/evil.py"))
    assert check.returncode == 1, check.stdout + check.stderr
    assert "pwurl-demo" in check.stdout


@pytest.mark.e2e
def test_the_wrapper_never_writes_a_url_whose_hash_is_untrusted(tmp_path: Path) -> None:
    """The attacker's stage B: pip-compile reuses the trusted pin's hash for the URL requirement."""
    project = tmp_path / "project"
    project.mkdir()
    env = isolated_env(tmp_path / "env")
    env.pop("CI", None)
    index = PackageIndex()
    index.add("pwurl-demo", "1.0", GOOD_NAME, GOOD)
    hostile = HostileIndex()
    hostile.blobs["/x/" + GOOD_NAME] = EVIL
    compile_ = [sys.executable, "-m", "pinwarden", "pip-compile", "--no-interaction"]

    def compile_in(url: str) -> subprocess.CompletedProcess[str]:
        argv = [*compile_, "-i", url, "requirements.in"]
        return subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, check=False)

    with index.serve() as url, hostile.serve():
        (project / "requirements.in").write_text("pwurl-demo\n")
        first = compile_in(url)
        assert first.returncode == 0, first.stderr
        before = (project / "requirements.txt").read_bytes(), (project / "pinwarden-ledger.toml").read_bytes()
        evil_url = f"http://127.0.0.1:{hostile.port}/x/{GOOD_NAME}#sha256={hexdigest(EVIL, 'sha256')}"
        (project / "requirements.in").write_text(f"pwurl-demo @ {evil_url}\n")
        done = compile_in(url)
    assert done.returncode in (1, 2), done.stderr
    assert "Traceback" not in done.stderr
    after = (project / "requirements.txt").read_bytes(), (project / "pinwarden-ledger.toml").read_bytes()
    assert after == before
