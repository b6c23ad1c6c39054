"""Issue 10, class 10 (leaks): the wrapper never prints an index password, in any message.

A real `pinwarden pip-compile` against a local index named with credentials in several spellings
(`-i URL`, `--index-url=URL`, `--extra-index-url URL`); an upstream change makes it refuse, so the
report, the approve command and the "After approving, rerun:" line are all printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.compiled_project import Project, compiled_project, ok
from tests.test_piptools_wrapper import replace_sdist

pytestmark = pytest.mark.e2e


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with compiled_project(tmp_path) as project:
        yield project


@pytest.mark.parametrize("secret", ["s3cret", "p%40ss%3Aw0rd"])
@pytest.mark.parametrize("spelling", ["-i", "--index-url=", "--extra-index-url"])
def test_an_index_password_is_never_printed(project: Project, secret: str, spelling: str) -> None:
    url = project.index.url.replace("http://", f"http://reader:{secret}@")
    if spelling == "-i":
        args = ["-i", url]
    elif spelling == "--index-url=":
        args = [f"--index-url={url}"]
    else:
        args = ["-i", project.index.url, "--extra-index-url", url]
    ok(project.run(*args, "requirements.in"))
    replace_sdist(project.index)
    done = project.run(*args, "-U", "requirements.in")
    err = ok(done, 1)
    assert "rerun" in err.lower(), err
    # pip-compile itself echoes the file it would write, whose index lines keep their credentials
    # (pip needs them): those are pip-tools' output. Every line pinwarden prints is masked.
    own = [
        line
        for line in (done.stdout + err).splitlines()
        if not line.startswith(("--index-url ", "--extra-index-url "))
    ]
    assert not [line for line in own if secret in line], err
    assert any("rerun" in line and "reader:****@" in line for line in own), err
