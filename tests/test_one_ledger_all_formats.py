"""One ledger for every lock format of a project: the same PyPI release locked by poetry.lock (no
source: PyPI), a requirements file (`--index-url https://pypi.org/simple`), uv.lock (`registry =
"https://pypi.org/simple"`) and pylock.toml is one trusted release, with no finding between them.
The locks are discovered (none named); the hashes and sizes are colorama 0.4.6's on PyPI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.cli_run import cli_run

from pinwarden.shared.ledger import loads

WHEEL = "colorama-0.4.6-py2.py3-none-any.whl"
SDIST = "colorama-0.4.6.tar.gz"
W = "4f1d9991f5acc0ca119f9d443620b77f9d6b33703e51011c16baf57afb285fc6"
S = "08695f5cb7ed6e0531a20572697297273c47b8cae5a63ffc6d6ed5c201be6e44"
FILES = "https://files.pythonhosted.org/packages"
W_URL = f"{FILES}/d1/d6/3965ed04c63042e047cb6a3e6ed1a63a35087b6a609aa3a15ed8ac56c221/{WHEEL}"
S_URL = f"{FILES}/d8/53/6f443c9a4a8358a93a6792e2acffb9d9d5cb0a5cfd8802644b7b1c9a02e4/{SDIST}"

POETRY = f"""\
[[package]]
name = "colorama"
version = "0.4.6"
description = "Cross-platform colored terminal text."
optional = false
python-versions = "*"
files = [
    {{file = "{WHEEL}", hash = "sha256:{W}"}},
    {{file = "{SDIST}", hash = "sha256:{S}"}},
]

[metadata]
lock-version = "2.1"
python-versions = "*"
content-hash = "0000000000000000000000000000000000000000000000000000000000000000"
"""
REQUIREMENTS = f"""\
--index-url https://pypi.org/simple

colorama==0.4.6 \\
    --hash=sha256:{W} \\
    --hash=sha256:{S}
"""
UV = f"""\
version = 1
revision = 3
requires-python = ">=3.10"

[[package]]
name = "colorama"
version = "0.4.6"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "{S_URL}", hash = "sha256:{S}", size = 27697, upload-time = "2022-10-25T02:36:22.414Z" }}
wheels = [
    {{ url = "{W_URL}", hash = "sha256:{W}", size = 25335, upload-time = "2022-10-25T02:36:20.889Z" }},
]
"""
PYLOCK = f"""\
lock-version = "1.0"
created-by = "uv"

[[packages]]
name = "colorama"
version = "0.4.6"
index = "https://pypi.org/simple/"
sdist = {{ url = "{S_URL}", size = 27697, hashes = {{ sha256 = "{S}" }} }}
wheels = [{{ url = "{W_URL}", size = 25335, hashes = {{ sha256 = "{W}" }} }}]
"""


def run(cwd: Path, *argv: str) -> tuple[int, str]:
    code, out, err = cli_run(cwd, *argv)
    return code, out + err


def git(cwd: Path, *argv: str) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"}
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *ident, *argv], cwd=cwd, env=env, check=True, capture_output=True)


def test_four_lock_formats_share_one_trusted_release(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "uv.lock").write_text(UV)
    (tmp_path / "pylock.toml").write_text(PYLOCK)
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    (tmp_path / "poetry.lock").write_text(POETRY)
    code, out = run(tmp_path, "init")
    assert code == 0, out
    assert (
        "trusted 1 new versions (8 locked files) from poetry.lock, uv.lock, pylock.toml, requirements.txt"
        in out
    )
    ledger = loads((tmp_path / "pinwarden-ledger.toml").read_text())
    (release,) = ledger.releases.values()
    assert release.index == "https://pypi.org/simple/"  # poetry.lock's PyPI, read first
    assert {(f.filename, f.size) for f in release.files} == {(WHEEL, 25335), (SDIST, 27697)}
    code, out = run(tmp_path, "check")
    assert code == 0, out
    assert "4 locked versions, all trusted and complete" in out
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "trusted")

    # Approving through each lock in turn changes nothing a reviewer weighs (no index change).
    for lock in ("uv.lock", "requirements.txt", "pylock.toml"):
        code, out = run(tmp_path, "approve", "colorama==0.4.6", lock, "--reason", "again")
        assert code == 0, out
        assert "colorama==0.4.6: already trusted" in out
        (again,) = loads((tmp_path / "pinwarden-ledger.toml").read_text()).releases.values()
        assert again.index == "https://pypi.org/simple/", lock  # the ledger's spelling stays
    code, out = run(tmp_path, "diff", "HEAD")
    assert code == 0, out
    assert "index" not in out
    code, out = run(tmp_path, "show", "colorama")
    assert code == 0
    assert f"{WHEEL}  sha256:{W}  25335 bytes" in out
