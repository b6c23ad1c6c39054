"""The distribution as users get it: built with `python -m build`, installed into fresh virtualenvs
beside the lowest and newest supported Poetry and pip-tools, guarding a project against a local index.

Everything is installed offline from `build/wheelhouse` (`make wheelhouse`, run by `make test` and
by .ci/run while the network is there); without it these tests skip and say why.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from tests.support.index import (
    PackageIndex,
    build_sdist,
    build_wheel,
    find_tool,
    isolated_env,
    poetry_project,
    unbound,
)

ROOT = Path(__file__).parents[1]
WHEELHOUSE = ROOT / "build" / "wheelhouse"
NAME = "pwpack-alpha"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (WHEELHOUSE / ".done").exists(), reason="no build/wheelhouse: run `make wheelhouse`"
    ),
]


def offline_env(tmp: Path) -> dict[str, str]:
    env = isolated_env(tmp)
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELHOUSE))
    return env


def run(args: list[str], env: dict[str, str], cwd: Path | None = None, code: int = 0) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == code, f"{args} exited {done.returncode}, not {code}\n{output}"
    return output


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], offline_env(out))
    return out


def the_wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("pinwarden-*.whl")
    return wheel


def test_wheel_and_sdist_metadata_are_complete(dist: Path) -> None:
    (sdist,) = dist.glob("pinwarden-*.tar.gz")
    with zipfile.ZipFile(the_wheel(dist)) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(info).decode())
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert meta["Name"] == "pinwarden" and meta["Version"]
    assert meta["Summary"] and meta["Requires-Python"] == ">=3.10"
    assert meta["License-Expression"] == "MIT" or meta["License"]
    assert "Topic :: Security" in meta.get_all("Classifier")
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist")]
    core = {r.name for r in requires if r.marker is None}
    assert core >= {"packaging", "filelock", "requests"}
    assert not core & {"poetry", "pip-tools", "pip"}, "neither host tool is forced on the other's users"
    assert any(
        r.name == "pip-tools" and r.marker and r.marker.evaluate({"extra": "pip-tools"}) for r in requires
    )
    assert set(meta.get_all("Provides-Extra")) >= {"pip-tools", "poetry"}
    assert meta.get_payload().startswith("# pinwarden"), "the README is the long description"
    for group in ("[console_scripts]", "[poetry.application.plugin]", "[poetry.plugin]"):
        assert group in entry_points
    assert "pinwarden/shared/ledger.py" in names and "pinwarden/py.typed" in names
    assert not [n for n in names if n.startswith("tests/")]
    assert sdist.stat().st_size > 0


def fresh_venv(tmp: Path, *requirements: str) -> Path:
    """A new virtualenv with the requirements installed from the wheelhouse alone."""
    venv = tmp / "venv"
    env = offline_env(tmp)
    run([sys.executable, "-m", "venv", str(venv)], env)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements], env)
    return venv / "bin"


@pytest.fixture
def index() -> Iterator[PackageIndex]:
    served = PackageIndex()
    served.add(NAME, "1.0", *build_wheel(NAME, "1.0"))
    served.add(NAME, "1.0", *build_sdist(NAME, "1.0"))
    with served.serve():
        yield served


@pytest.mark.parametrize("poetry_version", ["2.1.4", "2.5.1"])
def test_poetry_plugin_from_the_wheel(
    poetry_version: str, dist: Path, index: PackageIndex, tmp_path: Path
) -> None:
    env = isolated_env(tmp_path)
    bin_dir = fresh_venv(tmp_path, f"poetry=={poetry_version}", str(the_wheel(dist)))
    poetry = str(bin_dir / "poetry")
    assert "pinwarden check" in run([poetry, "list"], env)
    assert "--reason" in run([poetry, "pinwarden", "approve", "--help"], env)
    assert "pinwarden diff" in run([poetry, "pinwarden"], env), "the namespace lists its commands"

    project = tmp_path / "project"
    poetry_project(project, index.url, [f"{NAME}>=1.0"])
    run([poetry, "lock", "-n"], env, cwd=project)
    assert (project / "pinwarden-ledger.toml").is_file(), "first lock trusts on first use"
    lock = (project / "poetry.lock").read_bytes()

    index.add(NAME, "1.0", *build_wheel(NAME, "1.0", build_tag=1, marker="late"))
    cold = {**env, "POETRY_CACHE_DIR": str(tmp_path / "cold-cache")}
    output = run([poetry, "lock", "-n"], cold, cwd=project, code=1)
    assert f"poetry pinwarden approve --from-index {NAME}==1" in [
        unbound(line.strip()) for line in output.splitlines()
    ]
    assert (project / "poetry.lock").read_bytes() == lock


@pytest.mark.parametrize("piptools_version", ["7.4.1", "7.6.2"])
def test_pip_compile_wrapper_from_the_wheel(
    piptools_version: str, dist: Path, index: PackageIndex, tmp_path: Path
) -> None:
    env = isolated_env(tmp_path)
    bin_dir = fresh_venv(tmp_path, f"pip-tools=={piptools_version}", f"{the_wheel(dist)}[pip-tools]")
    pinwarden = str(bin_dir / "pinwarden")
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.in").write_text(f"{NAME}\n")
    base = [pinwarden, "pip-compile", "--index-url", index.url, "--cache-dir", str(tmp_path / "cache")]
    run([*base, "requirements.in"], env, cwd=project)
    assert (project / "pinwarden-ledger.toml").is_file()
    output_file = (project / "requirements.txt").read_bytes()

    index.add(NAME, "1.0", *build_wheel(NAME, "1.0", build_tag=1, marker="late"))
    output = run([*base, "-U", "requirements.in"], env, cwd=project, code=1)
    assert f"pinwarden approve {NAME}==1 --from-index" in output
    assert (project / "requirements.txt").read_bytes() == output_file


def _git(cwd: Path, *args: str) -> str:
    env = {
        **isolated_env(cwd.parent),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return run(["git", *args], env, cwd=cwd)


def test_pre_commit_hook_checks_a_sample_repository(tmp_path: Path) -> None:
    pre_commit = find_tool("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed")
    head = _git(ROOT, "rev-parse", "HEAD").strip()
    if ".pre-commit-hooks.yaml" not in _git(ROOT, "ls-tree", "--name-only", head):
        pytest.skip("the hook definition is not committed yet")
    sample = tmp_path / "sample"
    sample.mkdir()
    _git(sample, "init", "-q")
    lock = (ROOT / "demo" / "sample" / "poetry.lock").read_text()
    (sample / "poetry.lock").write_text(lock)
    run([sys.executable, "-m", "pinwarden", "init"], isolated_env(tmp_path), cwd=sample)
    (sample / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {head}\n  hooks:\n  - id: pinwarden-check\n"
    )
    _git(sample, "add", "-A")
    _git(sample, "commit", "-qm", "sample")
    env = {**offline_env(tmp_path), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    env.update(GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    assert "pinwarden check" in run([pre_commit, "run", "--all-files"], env, cwd=sample)

    digest = lock.split('hash = "sha256:', 1)[1][:64]
    (sample / "poetry.lock").write_text(lock.replace(digest, "0" * 64, 1))
    _git(sample, "add", "poetry.lock")
    output = run([pre_commit, "run", "--all-files"], env, cwd=sample, code=1)
    assert "CHANGED" in output and "pinwarden approve" in output


# ---------------------------------------------------------------------------------------------
# The README's adopter commands, as written there (## Install): run offline from the wheelhouse.

README = ROOT / "README.md"
WHEEL_VARIABLE = '"$PINWARDEN_WHEEL"'


def readme_blocks() -> dict[str, list[str]]:
    """The `sh` blocks of the README's Install section, by their first line (a comment)."""
    section = README.read_text(encoding="utf-8").split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    blocks: dict[str, list[str]] = {}
    for block in section.split("```sh\n")[1:]:
        lines = [line for line in block.split("```", 1)[0].splitlines() if line.strip()]
        assert lines[0].startswith("# "), f"an install block starts with a comment naming it: {lines}"
        blocks[lines[0][2:]] = lines[1:]
    return blocks


def block(title_start: str) -> list[str]:
    (lines,) = [lines for title, lines in readme_blocks().items() if title.startswith(title_start)]
    return lines


def wheelhouse_has(*names: str) -> bool:
    return all(any(WHEELHOUSE.glob(f"{name}-*.whl")) for name in names)


@pytest.fixture(scope="module")
def adopter(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The README's build block run in a copy of this checkout (for its `git clone`): the
    environment every route block then runs in, with PINWARDEN_WHEEL as that block set it."""
    tmp = tmp_path_factory.mktemp("adopter")
    clone_line, *build = block("build the wheel")
    assert clone_line == "git clone https://github.com/pinwarden/pinwarden && cd pinwarden"
    clone = tmp / "pinwarden"
    shutil.copytree(
        ROOT, clone, ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*cache*", "__pycache__")
    )
    python_dir = tmp / "python-bin"  # `python3` in the README: the interpreter running the tests
    python_dir.mkdir()
    (python_dir / "python3").symlink_to(sys.executable)
    env = offline_env(tmp)
    env["PATH"] = f"{python_dir}:{env['PATH']}"
    script = "set -eu\n" + "\n".join(build) + '\nprintf "\\n%s" "$PINWARDEN_WHEEL"\n'
    wheel = run_script(script, env, clone).splitlines()[-1]  # after pip's own output
    assert Path(wheel).is_file(), f"the README names {wheel}, which its build did not make (version?)"
    assert wheel == str(the_wheel(clone / "dist"))
    return {**env, "PINWARDEN_WHEEL": wheel}


def run_script(script: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        ["bash", "-c", script],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,  # nobody at the terminal, as in CI: no prompt waits
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{script}\nexited {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout


def run_route(lines: list[str], env: dict[str, str], project: Path) -> str:
    """A route's lines, exactly as the README has them, in a fresh project directory."""
    project.mkdir(parents=True, exist_ok=True)
    return run_script("set -eu\n" + "\n".join(lines) + "\n", env, project)


def wheelhouse_index() -> PackageIndex:
    """The wheelhouse as a simple index: what `poetry self add` resolves with instead of PyPI."""
    from packaging.utils import parse_sdist_filename, parse_wheel_filename

    index = PackageIndex()
    for path in sorted(WHEELHOUSE.iterdir()):
        if path.name.endswith(".whl"):
            name, version, *_ = parse_wheel_filename(path.name)
        elif path.name.endswith(".tar.gz"):
            name, version = parse_sdist_filename(path.name)
        else:
            continue
        index.add(str(name), str(version), path.name, path.read_bytes())
    return index


def test_readme_poetry_self_add_installs_the_plugin(adopter: dict[str, str], tmp_path: Path) -> None:
    if not wheelhouse_has("xattr", "pywin32_ctypes", "colorama"):
        pytest.skip("the wheelhouse lacks what `poetry self add` resolves: run `make wheelhouse`")
    lines = block("Poetry (2.1")
    assert lines == [f"poetry self add {WHEEL_VARIABLE}"]
    bin_dir = fresh_venv(tmp_path, "poetry==2.5.1")
    env = {**adopter, **isolated_env(tmp_path / "poetry-env"), "PATH": f"{bin_dir}:{adopter['PATH']}"}
    index = wheelhouse_index()
    with index.serve():
        # Poetry's own project (`poetry self`) takes its packages from this source instead of PyPI.
        system = Path(env["POETRY_CONFIG_DIR"]) / "pyproject.toml"
        system.write_text(
            '[tool.poetry]\npackage-mode = false\n\n[[tool.poetry.source]]\nname = "wheelhouse"\n'
            f'url = "{index.url}"\npriority = "primary"\n'
        )
        run_route(lines, env, tmp_path / "project")
    listing = run([str(bin_dir / "poetry"), "pinwarden"], env)
    assert "pinwarden check" in listing and "pinwarden diff" in listing


def test_readme_pipx_inject_installs_the_plugin(adopter: dict[str, str], tmp_path: Path) -> None:
    if not wheelhouse_has("pipx", "argcomplete", "userpath"):
        pytest.skip("no pipx in the wheelhouse: run `make wheelhouse`")
    lines = block("Poetry installed with pipx")
    assert lines == [f"pipx inject poetry {WHEEL_VARIABLE}"]
    tools = fresh_venv(tmp_path / "tools", "pipx")
    pipx = {name: str(tmp_path / "pipx" / name) for name in ("home", "bin", "man")}
    env = {
        **adopter,
        **isolated_env(tmp_path / "poetry-env"),
        "PATH": f"{tools}:{pipx['bin']}:{adopter['PATH']}",
        "PIPX_HOME": pipx["home"],
        "PIPX_BIN_DIR": pipx["bin"],
        "PIPX_MAN_DIR": pipx["man"],
        "USE_EMOJI": "0",
    }
    run([str(tools / "pipx"), "install", "poetry==2.5.1"], env)  # the adopter's Poetry, from pipx
    run_route(lines, env, tmp_path / "project")
    listing = run([str(Path(pipx["bin"]) / "poetry"), "pinwarden"], env)
    assert "pinwarden check" in listing and "pinwarden diff" in listing


def test_readme_pip_tools_venv_gets_the_wrapper(adopter: dict[str, str], tmp_path: Path) -> None:
    lines = block("pip-tools")
    assert lines[-1] == '.venv/bin/pip install "pinwarden[pip-tools] @ file://$PINWARDEN_WHEEL"'
    project = tmp_path / "project"
    run_route(lines, adopter, project)
    bin_dir = project / ".venv" / "bin"
    assert (bin_dir / "pip-compile").is_file(), "the extra brings pip-tools"
    assert "pinwarden pip-compile:" in run([str(bin_dir / "pinwarden"), "pip-compile", "--help"], adopter)


def test_readme_plain_venv_gets_the_cli_alone(adopter: dict[str, str], tmp_path: Path) -> None:
    lines = block("CI, pre-commit")
    assert lines[-1] == f".venv/bin/pip install {WHEEL_VARIABLE}"
    project = tmp_path / "project"
    run_route(lines, adopter, project)
    bin_dir = project / ".venv" / "bin"
    assert run([str(bin_dir / "pinwarden"), "--version"], adopter).startswith("pinwarden ")
    assert not (bin_dir / "pip-compile").exists() and not (bin_dir / "poetry").exists()


def test_readme_pypi_lines_are_the_tested_lines_naming_pinwarden() -> None:
    """The "once published" lines cannot run before pinwarden is on PyPI: they must be the tested
    lines with the wheel replaced by the project's name, so that they cannot drift."""
    blocks = readme_blocks()
    published = block("once published")
    tested = [
        line.replace('"pinwarden[pip-tools] @ file://$PINWARDEN_WHEEL"', '"pinwarden[pip-tools]"').replace(
            WHEEL_VARIABLE, "pinwarden"
        )
        for title, lines in blocks.items()
        if not title.startswith(("build the wheel", "once published"))
        for line in lines
        if "PINWARDEN_WHEEL" in line
    ]
    assert published == tested
    assert all("PINWARDEN_WHEEL" not in line for line in published)
