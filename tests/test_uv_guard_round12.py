"""Round 12's bypasses of `pinwarden uv` (the attacker's finds 01, 02, 03, 06, 07, 08), each kept as a
class of spellings: the real uv against the local index, where the trusted pwdemo-beta 2.0 wheel was
replaced by other bytes (EVIL) after the ledger recorded it; nothing may install or write it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.compiled_project import ALPHA, BETA, BETA_WHEEL
from tests.support.index import build_wheel, find_tool
from tests.support.uv_project import UvProject, ok, uv_project, write_pyproject

from pinwarden.shared.errors import PinwardenError
from pinwarden.uv_guard.args import UsageError, parse
from pinwarden.uv_guard.guard import uv_words
from pinwarden.uv_guard.stage import locate, staging

pytestmark = pytest.mark.e2e
if sys.platform == "win32":  # pragma: no cover
    pytest.skip("POSIX only", allow_module_level=True)

UV = find_tool("uv")
EVIL = build_wheel(BETA, "2.0", marker="EVIL-BYTES")[1]
SHOW_BETA = "import pathlib, pwdemo_beta; print(pathlib.Path(pwdemo_beta.__file__).read_text())"
SCRIPT = (
    f"# /// script\n# requires-python = '>=3.10'\n# dependencies = ['{BETA}==2.0']\n# ///\n"
    "import pathlib, pwdemo_beta\nprint('RAN', pathlib.Path(pwdemo_beta.__file__).read_text())\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[UvProject]:
    with uv_project(tmp_path) as project:
        yield project


def hostile(p: UvProject, *, readd: bool = True) -> None:
    """The ledger trusts beta 2.0 (a guarded sync), the project drops it, the index replaces its
    wheel (cold cache, fresh checkout), and the pull request adds it back (uv.lock now stale)."""
    ok(p.uv("sync"))
    write_pyproject(p.path, [ALPHA])
    ok(p.uv("lock"))
    p.index.replace(BETA, BETA_WHEEL[0], EVIL)
    shutil.rmtree(p.env["UV_CACHE_DIR"], ignore_errors=True)
    shutil.rmtree(p.path / ".venv", ignore_errors=True)
    if readd:
        write_pyproject(p.path, [ALPHA, BETA])


def evil_installed(root: Path) -> bool:
    return any("EVIL-BYTES" in f.read_text() for f in root.rglob("site-packages/pwdemo_beta/__init__.py"))


def one_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("pinwarden: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def run_in(p: UvProject, cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pinwarden", *args],
        cwd=cwd,
        env=p.env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


# -- 01: uv run of a script with its own dependencies ------------------------------------------------


class TestRunOfAScriptWithItsOwnDependencies:
    @pytest.mark.parametrize(
        ("args", "name"),
        [
            (("run", "script.py"), "script.py"),
            (("run", "--refresh", "script.py"), "script.py"),
            (("run", "--", "script.py", "arg"), "script.py"),
            (("run", "SCRIPT.PY"), "SCRIPT.PY"),
            (("run", "tool.pyw"), "tool.pyw"),
            (("--directory", "sub", "run", "nested.py"), "nested.py"),
            (("run", "-"), "-"),
            (("run", "https://127.0.0.1:9/script.py"), "https://127.0.0.1:9/script.py"),  # never fetched
            (("run", "-m", "http://127.0.0.1:9/x"), "http://127.0.0.1:9/x"),
            (("run", "--gui-script", "script.py"), "--gui-script"),
        ],
    )
    def test_refused_before_uv_runs_anything(
        self, project: UvProject, args: tuple[str, ...], name: str
    ) -> None:
        hostile(project, readd=False)
        for file in ("script.py", "SCRIPT.PY", "tool.pyw", "sub/nested.py"):
            (project.path / file).parent.mkdir(exist_ok=True)
            (project.path / file).write_text(SCRIPT)
        ok(project.plain_uv("lock", "--script", "script.py"))  # the script's own lock, unreviewed
        before = project.state()
        asked = project.simple_requests()
        done = run_in(project, project.path, "uv", *args, stdin=SCRIPT)
        one_error(done, name)
        assert done.stdout == ""
        assert project.simple_requests() == asked
        assert project.state() == before
        assert not evil_installed(project.path.parent)

    @pytest.mark.parametrize("args", [("run", "plain.py"), ("run", "python", "script.py")])
    def test_a_script_uv_runs_in_the_project_runs_as_before(
        self, project: UvProject, args: tuple[str, ...]
    ) -> None:
        """No inline metadata, or `python script.py` (uv reads no metadata then): the project's env."""
        ok(project.uv("lock"))
        (project.path / "plain.py").write_text("import pwdemo_alpha\nprint('RAN', pwdemo_alpha.MARKER)\n")
        (project.path / "script.py").write_text(SCRIPT.replace("pwdemo_beta", "pwdemo_alpha"))
        done = project.uv(*args)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("RAN")


# -- 02: options pinwarden adds go before the program ------------------------------------------------


class TestLockedGoesBeforeTheProgram:
    @pytest.mark.parametrize(
        "args",
        [
            ("run", "python", "-c", SHOW_BETA),
            ("run", "--", "python", "-c", SHOW_BETA),
            ("run", "python", "-c", SHOW_BETA, "--frozen"),
            ("run", "--no-interaction", "python", "-c", SHOW_BETA, "--locked"),
        ],
    )
    def test_a_stale_lock_writes_and_installs_nothing_unreviewed(
        self, project: UvProject, args: tuple[str, ...]
    ) -> None:
        hostile(project)
        before = project.state()
        done = project.uv(*args)
        assert done.returncode == 1, done.stderr
        assert "EVIL-BYTES" not in done.stdout
        assert project.state() == before
        assert not evil_installed(project.path)

    def test_the_words_pinwarden_adds_precede_the_first_positional(self) -> None:
        inv = parse(["run", "-q", "python", "-c", "x", "--flag"])
        assert uv_words(inv, options=[*inv.words(), "--locked"]) == [
            "run", "--quiet", "--locked", "python", "-c", "x", "--flag"
        ]  # fmt: skip
        inv = parse(["run", "--", "python"])
        assert uv_words(inv, options=["--locked"]) == ["run", "--locked", "--", "python"]


# -- 03: options the tables do not know --------------------------------------------------------------


class TestUnknownOptionsFailClosed:
    @pytest.mark.parametrize(
        "args",
        [
            ("--python-preference", "only-system", "sync"),
            ("--python-preference=only-system", "sync"),
            ("--preview-features", "x", "sync"),
            ("--preview-feature=x", "sync"),
            ("--python-fetch", "manual", "sync"),
            ("sync", "--python-preference", "only-system"),
            ("--trusted-host", "localhost", "sync"),
        ],
    )
    def test_hidden_value_options_are_read_as_uv_reads_them(
        self, project: UvProject, args: tuple[str, ...]
    ) -> None:
        hostile(project)
        before = project.state()
        done = project.uv(*args)
        assert done.returncode == 1, done.stderr  # the stale lock is reviewed and refused
        assert project.state() == before
        assert not evil_installed(project.path)

    @pytest.mark.parametrize(
        ("args", "word"),
        [
            (("--made-up", "x", "sync"), "--made-up"),
            (("--made-up=x", "sync"), "--made-up"),
            (("sync", "--made-up", "x"), "--made-up"),
            (("-Z", "sync"), "-Z"),
            (("sync", "-qZ"), "-Z"),
            (("--upgrade-package", "x", "sync"), "--upgrade-package"),  # not a global option
            (("sync", "--frozen=1"), "--frozen takes no value"),
            (("sync", "--python-preference="), "--python-preference needs a value"),
            (("--", "sync"), "`--` before the uv command"),
            (("pip", "--made-up", "compile", "r.in"), "--made-up"),
            (("run", "--made-up", "python"), "--made-up"),
        ],
    )
    def test_an_unknown_option_is_one_error_and_runs_nothing(
        self, project: UvProject, args: tuple[str, ...], word: str
    ) -> None:
        hostile(project)
        before = project.state()
        one_error(project.uv(*args), word)
        assert project.state() == before
        assert not evil_installed(project.path)

    def test_the_command_is_found_past_global_options_and_aliases_read_as_uv_names(self) -> None:
        assert parse(["--python-preference", "only-system", "-q", "sync"]).command == "sync"
        inv = parse(["pip", "-q", "compile", "r.in"])
        assert (inv.command, inv.positionals) == ("pip compile", ("r.in",))
        inv = parse(["lock", "--config-settings", "a=b", "--trusted-host=h", "--preview-feature", "f"])
        assert [o.name for o in inv.options] == [
            "--config-setting",
            "--allow-insecure-host",
            "--preview-features",
        ]
        # Another uv command passes as given: pinwarden reads no option after it.
        assert parse(["pip", "install", "--anything"]).uv_argv == ("pip", "install", "--anything")
        with pytest.raises(UsageError):
            parse(["-V", "--made-up", "pip", "install"])


# -- 06: the workspace root is uv's ------------------------------------------------------------------


def _pyproject(path: Path, name: str, extra: str = "") -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "0.1"\n{extra}')


@pytest.mark.skipif(UV is None, reason="uv is not installed beside this Python")
class TestTheWorkspaceRootIsUvs:
    @pytest.mark.parametrize(
        ("members", "between", "root"),
        [
            ('["mid/app"]', True, "top/mid/app"),  # a non-workspace project between: app is its own
            ('["./mid/app"]', False, "top"),  # `./`: a member for uv
            ('["*"]', False, "top/mid/app"),  # uv's `*` does not cross `/` (fnmatch's did)
            ('["mid/*"]', False, "top"),
        ],
    )
    def test_locate_answers_as_uv(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, members: str, between: bool, root: str
    ) -> None:
        assert UV is not None
        _pyproject(tmp_path / "top", "top", f"[tool.uv.workspace]\nmembers = {members}\n")
        _pyproject(tmp_path / "top" / "mid" / "app", "app")
        if between:
            _pyproject(tmp_path / "top" / "mid", "mid")
        monkeypatch.chdir(tmp_path / "top" / "mid" / "app")
        env = {"PATH": os.environ["PATH"], "UV_NO_CONFIG": "1"}
        assert locate(UV, None, None, env).root == (tmp_path / root).resolve()
        monkeypatch.chdir(tmp_path)
        assert locate(UV, "top", "mid/app", env).root == (tmp_path / root).resolve()

    def test_uv_failing_to_tell_is_an_error(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        assert UV is not None
        (tmp_path / "pyproject.toml").write_text("[project\n")
        monkeypatch.chdir(tmp_path)
        with pytest.raises(PinwardenError, match="uv cannot tell the workspace root"):
            locate(UV, None, None, {"PATH": os.environ["PATH"], "UV_NO_CONFIG": "1"})

    def test_a_member_made_its_own_root_below_a_ledger_is_refused(self, project: UvProject) -> None:
        """Find 06: a pull request adds mid/pyproject.toml and mid/app/uv.lock (plain uv, the
        replaced wheel); pinwarden checks the lock uv installs from, and starts no ledger there."""
        top = project.path
        _pyproject(top, "top", '[tool.uv.workspace]\nmembers = ["mid/app"]\n')
        app = top / "mid" / "app"
        write_pyproject(app, [ALPHA, BETA], name="app")
        ok(run_in(project, app, "uv", "sync"))
        project.index.replace(BETA, BETA_WHEEL[0], EVIL)
        shutil.rmtree(project.env["UV_CACHE_DIR"], ignore_errors=True)
        _pyproject(top / "mid", "mid")
        subprocess.run([UV, "lock"], cwd=app, env=project.env, check=True, capture_output=True)  # type: ignore[list-item]
        for venv in list(top.rglob(".venv")):
            shutil.rmtree(venv)
        one_error(run_in(project, app, "uv", "sync"), "name the ledger to use", "pinwarden-ledger.toml")
        assert not evil_installed(top)
        assert not (app / "pinwarden-ledger.toml").exists()
        # Named, the ledger judges that lock: the replaced file is refused.
        done = run_in(project, app, "uv", "sync", "--pinwarden-ledger", str(top / "pinwarden-ledger.toml"))
        assert done.returncode == 1, done.stderr
        assert not evil_installed(top)


# -- 07: links uv would write through ----------------------------------------------------------------


class TestNoWriteThroughALink:
    @pytest.mark.parametrize("link", ["../project/real.lock", "locks/real.lock", "ABSOLUTE"])
    def test_a_linked_uv_lock_is_refused(self, project: UvProject, link: str) -> None:
        hostile(project, readd=False)
        target = project.path / ("locks/real.lock" if link.startswith("locks") else "real.lock")
        target.parent.mkdir(exist_ok=True)
        shutil.move(project.lock, target)
        project.lock.symlink_to(str(target) if link == "ABSOLUTE" else link)
        write_pyproject(project.path, [ALPHA, BETA])
        before = target.read_bytes()
        for args in (("sync",), ("lock",), ("run", "python", "-c", "1")):
            one_error(project.uv(*args), "uv.lock is a symbolic link")
        assert target.read_bytes() == before
        assert not evil_installed(project.path)

    def test_a_linked_pyproject_is_not_written_through_by_a_staged_add(self, project: UvProject) -> None:
        hostile(project, readd=False)
        real = project.path / "real-pyproject.toml"
        shutil.move(project.pyproject, real)
        project.pyproject.symlink_to("../project/real-pyproject.toml")
        before = real.read_bytes()
        done = project.uv("add", BETA)
        assert done.returncode == 1, done.stderr  # the replaced wheel: refused
        assert real.read_bytes() == before and project.pyproject.is_symlink()
        assert not evil_installed(project.path)

    def test_the_staging_copy_holds_regular_files_where_uv_writes(self, tmp_path: Path) -> None:
        root, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
        (elsewhere / "member").mkdir(parents=True)
        (elsewhere / "member" / "pyproject.toml").write_text("member")
        (elsewhere / "venv").mkdir()
        (elsewhere / "venv" / "pyvenv.cfg").write_text("home = /usr\n")
        (elsewhere / "real.lock").write_text("lock")
        root.mkdir()
        (root / "pyproject.toml").symlink_to("../project/pyproject.real")
        (root / "pyproject.real").write_text("project")
        (root / "uv.lock").symlink_to("../elsewhere/real.lock")
        (root / "uv.toml").symlink_to("missing")
        (root / "member").symlink_to("../elsewhere/member")
        (root / ".venv").symlink_to("../elsewhere/venv")
        (root / "other").symlink_to("../elsewhere/real.lock")
        with staging(root) as copy:
            for name, text in (
                ("pyproject.toml", "project"),
                ("uv.lock", "lock"),
                ("member/pyproject.toml", "member"),
            ):
                assert not (copy / name).is_symlink() and (copy / name).read_text() == text, name
            assert not (copy / "member").is_symlink()
            assert not (copy / "uv.toml").exists() and not (copy / "uv.toml").is_symlink()
            assert not (copy / ".venv").exists()
            assert (copy / "other").is_symlink()  # uv writes no such file: left as it is

    def test_a_link_loop_is_one_error(self, tmp_path: Path) -> None:
        root = tmp_path / "project"
        root.mkdir()
        (root / "up").symlink_to("..")
        with pytest.raises(PinwardenError, match=r"cannot copy|link"), staging(root):
            pass
        assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


# -- 08: the staging copy inside a parent workspace --------------------------------------------------


class TestTheStagingCopyJoinsNoParentWorkspace:
    @pytest.mark.parametrize("members", ['["packages/*"]', '["*/*"]'])
    def test_an_excluded_member_is_not_staged_into_the_parent(self, project: UvProject, members: str) -> None:
        top = project.path
        workspace = f'\n[tool.uv.workspace]\nmembers = {members}\nexclude = ["packages/legacy"]\n'

        def top_project(deps: list[str]) -> None:
            write_pyproject(top, deps, name="top")
            (top / "pyproject.toml").write_text((top / "pyproject.toml").read_text() + workspace)

        top_project([ALPHA, BETA])
        write_pyproject(top / "packages" / "one", [ALPHA], name="one")
        ok(project.uv("lock"))
        top_project([ALPHA])
        ok(project.uv("lock"))
        project.index.replace(BETA, BETA_WHEEL[0], EVIL)
        shutil.rmtree(project.env["UV_CACHE_DIR"], ignore_errors=True)
        write_pyproject(top / "packages" / "legacy", [ALPHA, BETA], name="legacy")
        before = (top / "uv.lock").read_bytes(), (top / "pinwarden-ledger.toml").read_bytes()
        done = run_in(
            project,
            top / "packages" / "legacy",
            "uv",
            "--pinwarden-ledger",
            "../../pinwarden-ledger.toml",
            "lock",
        )
        one_error(done, "takes the staging copy", "nothing was run")
        assert ((top / "uv.lock").read_bytes(), (top / "pinwarden-ledger.toml").read_bytes()) == before
        assert not (top / "packages" / "legacy" / "uv.lock").exists()
        assert not list((top / "packages").glob(".pinwarden-uv-*"))


@pytest.mark.skipif(UV is None, reason="uv is not installed beside this Python")
@pytest.mark.parametrize("existed", [True, False])
def test_a_change_outside_the_copy_during_the_staged_run_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existed: bool
) -> None:
    """Had uv taken the copy into a parent workspace anyway (a glob edited meanwhile), its lock
    changes: an error, and a uv.lock that was there is put back byte for byte."""
    import io

    from pinwarden.uv_guard import guard as guard_module

    project = tmp_path / "parent" / "project"
    write_pyproject(project, [])
    parent_lock = tmp_path / "parent" / "uv.lock"
    if existed:
        parent_lock.write_text("the parent's lock\n")

    def uv_writes_the_parent(argv: list[str], **kwargs: object) -> int:
        parent_lock.write_text("rewritten by uv\n")
        return 0

    monkeypatch.chdir(project)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setattr(guard_module, "run", uv_writes_the_parent)
    assert UV is not None
    guard = guard_module.Guard(parse(["lock"]), UV, io.StringIO(), "pinwarden uv lock")
    changed = r"uv\.lock changed while uv locked in the staging copy"
    with pytest.raises(PinwardenError, match=changed) as caught:
        guard._stage()
    if existed:
        assert "restored" in str(caught.value)
        assert parent_lock.read_text() == "the parent's lock\n"
    else:
        assert "review it before anything installs from it" in str(caught.value)
    assert not list((tmp_path / "parent").glob(".pinwarden-uv-*"))


class TestUvVersion:
    """`uv version VALUE` / `--bump` rewrites pyproject.toml, locks again and syncs: never passed
    straight to uv (second round of the attack noticed `version` was not guarded)."""

    @pytest.mark.parametrize(
        "words",
        [
            ("version", "1.2"),
            ("version", "--bump", "patch"),
            ("version", "--bump=minor"),
            ("-q", "version", "2.0"),
            ("version", "--short", "--bump", "major"),
            ("version", "--package", "app", "3.0"),
            ("version", "--no-sync", "1.0"),
            ("version", "--locked", "1.0"),
        ],
    )
    def test_setting_a_version_is_refused(self, words: tuple[str, ...]) -> None:
        from pinwarden.uv_guard.args import parse
        from pinwarden.uv_guard.guard import version_sets

        assert version_sets(parse(list(words)).uv_argv)

    @pytest.mark.parametrize(
        "words",
        [
            ("version",),
            ("version", "--short"),
            ("version", "--output-format", "json"),
            ("version", "--output-format=json"),
            ("version", "--package", "app"),
            ("version", "--bump", "patch", "--dry-run"),
            ("version", "--frozen", "1.2"),
        ],
    )
    def test_reading_or_writing_only_pyproject_passes(self, words: tuple[str, ...]) -> None:
        from pinwarden.uv_guard.args import parse
        from pinwarden.uv_guard.guard import version_sets

        assert not version_sets(parse(list(words)).uv_argv)


def test_pinwarden_uv_version_bump_is_one_line_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    with uv_project(tmp_path) as project:
        ok(project.uv("lock"))
        before = (project.pyproject.read_bytes(), project.state())
        done = project.uv("version", "--bump", "patch")
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("pinwarden: error: pinwarden uv version:")
        assert done.stderr.count("\n") == 1
        assert (project.pyproject.read_bytes(), project.state()) == before
        assert project.uv("version", "--short").stdout.strip() == "0.1.0"  # reading passes to uv
