"""`pinwarden pip-compile` end to end: real pip-compile in a subprocess against an index on 127.0.0.1.

Nobody is at a terminal here (subprocess pipes), so every untrusted change must be refused with the
output file and the ledger byte-identical, and the message must end with the command that approves.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.compiled_project import (
    ALPHA,
    BETA,
    BETA_WHEEL,
    CP311_WHEEL,
    LATER,
    NEW_SDIST_BYTES,
    NEW_WHEEL_BYTES,
    SDIST,
    TAGGED_WHEEL,
    WHEEL,
    Project,
    approve_line,
    compiled_project,
    ok,
    private_dirs,
    sha256,
)
from tests.support.index import PackageIndex, build_sdist, unbound

pytestmark = pytest.mark.e2e


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with compiled_project(tmp_path) as project:
        yield project


# -- first use ---------------------------------------------------------------------------------------


def test_first_run_records_the_ledger_with_filenames(project: Project) -> None:
    err = ok(project.compile())
    assert "pinwarden: trusted 2 new versions on first use (pinwarden-ledger.toml)" in err
    assert f"{ALPHA} 1 trusted on first use" not in err  # the per-version lines are -v's
    assert "2 pins, all trusted; wrote requirements.txt" in err
    ledger = project.ledger.read_text()
    for filename, data in (WHEEL, SDIST, BETA_WHEEL):
        assert f'{{ file = "{filename}", hashes = ["{sha256(data)}"] }}' in ledger
    text = project.output.read_text()
    assert sha256(WHEEL[1]) in text
    # The header names the command the user ran, never the private copy pip-compile wrote.
    assert f"#    pinwarden pip-compile --index-url={project.index.url} requirements.in\n" in text
    assert ".pinwarden-" not in text
    assert not private_dirs(project)


def test_a_run_in_process_spawns_a_fresh_runner(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pinwarden pip-compile` forks its runner from the young command process; called as a
    function (pytest runs threads), the wrapper starts a fresh interpreter instead. Same result."""
    from pinwarden.cli import main

    monkeypatch.chdir(project.path)
    for key in set(os.environ) - set(project.env):
        monkeypatch.delenv(key)
    for key, value in project.env.items():
        monkeypatch.setenv(key, value)
    args = ["pip-compile", "-q", "-i", project.index.url, "requirements.in"]
    out, err = io.StringIO(), io.StringIO()
    assert main(args, out, err) == 0, err.getvalue()
    assert "trusted 2 new versions on first use" in err.getvalue()
    assert sha256(WHEEL[1]) in project.output.read_text()
    err = io.StringIO()
    assert main(args, out, err) == 0, err.getvalue()
    assert "2 pins, all trusted; requirements.txt is unchanged" in err.getvalue()
    assert not private_dirs(project)


# -- every upstream change, every way of re-hashing --------------------------------------------------


def add_cp311_wheel(index: PackageIndex) -> None:
    index.add(ALPHA, "1.0", *CP311_WHEEL)


def add_tagged_wheel(index: PackageIndex) -> None:
    index.add(ALPHA, "1.0", *TAGGED_WHEEL)


def add_sdist(index: PackageIndex) -> None:
    index.add(ALPHA, "1.0", *SDIST)


def replace_sdist(index: PackageIndex) -> None:
    index.replace(ALPHA, SDIST[0], NEW_SDIST_BYTES)


def delete_sdist(index: PackageIndex) -> None:
    index.remove(ALPHA, SDIST[0])


def add_version(index: PackageIndex) -> None:
    # An ordinary release, shaped like 1.0 (wheel and sdist): one without its sdist would be a
    # shape-change warning sign, which asks instead of trusting on first use.
    index.add(ALPHA, "1.1", *LATER)
    index.add(ALPHA, "1.1", *build_sdist(ALPHA, "1.1"))


@dataclass(frozen=True)
class Scenario:
    change: Callable[[PackageIndex], None]
    report: tuple[str, ...]  # what the refusal must say
    wheel_only_first: bool = False  # the version starts with no sdist
    first_use: str = "trust"
    refused_by: tuple[str, ...] = ("-U", "-P", "--no-reuse-hashes", "--audit")
    version: str = "1"  # the version the approve command names, as pinwarden spells it


SCENARIOS = {
    "new-wheel": Scenario(add_cp311_wheel, (f"NEW FILE    {CP311_WHEEL[0]}", sha256(CP311_WHEEL[1]))),
    "build-tag": Scenario(
        add_tagged_wheel, (f"NEW FILE    {TAGGED_WHEEL[0]}", "build tag 1: installers prefer it")
    ),
    "new-sdist": Scenario(
        add_sdist, (f"NEW FILE    {SDIST[0]}", "an sdist runs its build code"), wheel_only_first=True
    ),
    "same-filename-new-bytes": Scenario(
        replace_sdist,
        (
            "WARNING: THE CONTENT OF A TRUSTED FILE HAS CHANGED!",
            f"CHANGED     {SDIST[0]}",
            f"trusted {sha256(SDIST[1])}",
            f"locked  {sha256(NEW_SDIST_BYTES)}",
        ),
    ),
    "deleted-file": Scenario(delete_sdist, (f"MISSING     {SDIST[0]}", f"trusted {sha256(SDIST[1])}")),
    # A bump is trusted on first use by default (see test_version_bump_...); with first-use = "ask" it
    # needs approval. A re-hash of the pins that did not move (--no-reuse-hashes, --audit) sees nothing.
    "new-version": Scenario(
        add_version, ("NEW VERSION",), first_use="ask", refused_by=("-U", "-P"), version="1.1"
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_untrusted_changes_are_refused_and_a_default_rerun_changes_nothing(
    project: Project, name: str
) -> None:
    scenario = SCENARIOS[name]
    if scenario.wheel_only_first:
        project.index.remove(ALPHA, SDIST[0])
    ok(project.compile())
    if scenario.first_use != "trust":
        (project.path / "pyproject.toml").write_text(
            f'[tool.pinwarden]\nfirst-use = "{scenario.first_use}"\n'
        )
    before = project.state()
    scenario.change(project.index)

    for mode in ("-U", "-P", "--no-reuse-hashes", "--audit"):
        args = ("-P", ALPHA) if mode == "-P" else (mode,)
        done = project.compile(*args)
        if mode not in scenario.refused_by:
            assert "all trusted" in ok(done) or "every pinned file is trusted" in done.stderr
            assert project.state() == before
            continue
        err = ok(done, 1)
        assert project.state() == before, f"{mode} wrote something"
        assert "nothing was written (requirements.txt and the ledger are unchanged)" in err
        for expected in scenario.report:
            assert expected in err, f"{mode}: {expected!r} missing from\n{err}"
        assert unbound(err.rstrip().splitlines()[-1].strip()) == approve_line(project, scenario.version)

    err = ok(project.compile())
    assert "2 pins, all trusted; requirements.txt is unchanged" in err
    assert project.state() == before


# -- approving, then rerunning ----------------------------------------------------------------------


def test_the_printed_approve_command_makes_the_same_rerun_succeed(project: Project) -> None:
    ok(project.compile())
    replace_sdist(project.index)
    add_tagged_wheel(project.index)
    err = ok(project.compile("-U"), 1)
    command = err.rstrip().splitlines()[-1].split()
    assert command[:2] == ["pinwarden", "approve"]

    out = ok(project.run(*command[2:], "--reason", "rebuilt upstream", command="approve"))
    ledger = project.ledger.read_text()
    assert f'{{ file = "{SDIST[0]}", hashes = ["{sha256(NEW_SDIST_BYTES)}"] }}' in ledger
    assert sha256(SDIST[1]) not in ledger  # the approved bytes replace the old ones
    assert 'reason = "rebuilt upstream"' in ledger
    assert out == ""

    err = ok(project.compile("-U"))
    assert "wrote requirements.txt" in err
    text = project.output.read_text()
    assert sha256(NEW_SDIST_BYTES) in text
    assert sha256(TAGGED_WHEEL[1]) in text


def test_audit_then_approve_then_a_default_run_rehashes_the_stale_pin(project: Project) -> None:
    ok(project.compile())
    replace_sdist(project.index)
    command = ok(project.compile("--audit"), 1).rstrip().splitlines()[-1].split()
    ok(project.run(*command[2:], command="approve"))
    assert "every pinned file is trusted" in ok(project.compile("--audit"))
    # The output still pins the old sdist hash, which the ledger no longer trusts: re-hashed, not reused.
    err = ok(project.compile())
    assert f"{ALPHA}==1: re-hashed" in err
    assert sha256(NEW_SDIST_BYTES) in project.output.read_text()
    assert sha256(SDIST[1]) not in project.output.read_text()


def test_pip_hash_mismatch_becomes_a_finding_not_a_traceback(project: Project) -> None:
    ok(project.compile())
    before = project.state()
    project.index.replace(ALPHA, WHEEL[0], NEW_WHEEL_BYTES)
    replace_sdist(project.index)
    err = ok(project.compile(), 1)
    assert project.state() == before
    assert "pip refused a file whose bytes no longer match the hashes pinned in requirements.txt" in err
    assert f"CHANGED     {WHEEL[0]}" in err
    assert f"trusted {sha256(WHEEL[1])}" in err
    assert f"locked  {sha256(NEW_WHEEL_BYTES)}" in err
    last = err.rstrip().splitlines()[-1].strip()
    assert unbound(last) == approve_line(project)
    assert last.endswith(' --replace --reason "WHY"')  # the report showed changed files: the command says so

    ok(project.run(*last.split()[2:], command="approve"))
    # The approval was bound to the wheel the report showed; the sdist's swap, not shown (pip
    # stopped at the wheel), is a change of its own, shown and approved next.
    err = ok(project.compile(), 1)
    assert f"CHANGED     {SDIST[0]}" in err
    last = err.rstrip().splitlines()[-1].strip()
    assert last.endswith(f'--hash {sha256(NEW_SDIST_BYTES)} --replace --reason "WHY"')
    ok(project.run(*last.split()[2:], command="approve"))
    err = ok(project.compile())
    assert sha256(NEW_WHEEL_BYTES) in project.output.read_text()


def test_version_bump_is_trusted_on_first_use_and_a_downgrade_to_changed_files_is_caught(
    project: Project,
) -> None:
    ok(project.compile())
    add_version(project.index)
    err = ok(project.compile("-v", "-P", ALPHA))
    assert f"{ALPHA} 1.1 trusted on first use" in err
    assert f"{ALPHA}==1.1" in project.output.read_text()
    ledger = project.ledger.read_text()
    assert f'[projects.{ALPHA}."1"]' in ledger  # the old version stays, like go.sum
    assert f'[projects.{ALPHA}."1.1"]' in ledger

    replace_sdist(project.index)
    (project.path / "requirements.in").write_text(f"{ALPHA}==1.0\n{BETA}\n")
    before = project.state()
    err = ok(project.compile(), 1)
    assert f"CHANGED     {SDIST[0]}" in err
    assert project.state() == before


# -- options that change where the result goes -------------------------------------------------------


def test_dry_run_writes_nothing_and_says_what_would_happen(project: Project) -> None:
    assert "would trust on first use" in ok(project.compile("--dry-run"))
    assert project.state() == (None, None)
    ok(project.compile())
    before = project.state()
    add_tagged_wheel(project.index)
    err = ok(project.compile("-n", "-U"), 1)
    assert "dry run: these would need approval" in err
    assert project.state() == before
    assert "all trusted; nothing was written" in ok(project.compile("--dry-run"))


def test_output_to_stdout(project: Project) -> None:
    ok(project.compile())
    done = project.run("-i", project.index.url, "-o", "-", "requirements.in")
    ok(done)
    assert sha256(WHEEL[1]) in done.stdout
    assert done.stdout.startswith("#\n# This file is autogenerated by pip-compile")
    add_tagged_wheel(project.index)  # `-o -` never reuses hashes: the new wheel shows
    done = project.run("-i", project.index.url, "-o", "-", "requirements.in")
    ok(done, 1)
    assert done.stdout == ""


def test_several_inputs_an_output_elsewhere_and_a_ledger_option(project: Project) -> None:
    (project.path / "a.in").write_text(f"{ALPHA}\n")
    (project.path / "b.in").write_text(f"{BETA}\n")
    (project.path / "locks").mkdir()
    args = [
        "-i",
        project.index.url,
        "-o",
        "locks/all.txt",
        "--pinwarden-ledger",
        "trust.toml",
        "a.in",
        "b.in",
    ]
    ok(project.run(*args))
    assert (project.path / "trust.toml").is_file()
    assert not (project.path / "locks" / "pinwarden-ledger.toml").exists()
    add_tagged_wheel(project.index)
    err = ok(project.run(*args, "-U"), 1)
    assert unbound(err.rstrip().splitlines()[-1]).endswith(f"{approve_line(project)} --ledger trust.toml")


def test_ledger_beside_an_output_in_another_directory(project: Project) -> None:
    (project.path / "locks").mkdir()
    ok(project.compile("-o", "locks/req.txt"))
    assert (project.path / "locks" / "pinwarden-ledger.toml").is_file()
    add_tagged_wheel(project.index)
    err = ok(project.compile("-o", "locks/req.txt", "-U"), 1)
    assert unbound(err.rstrip().splitlines()[-1]).endswith(
        f"{approve_line(project)} --ledger locks/pinwarden-ledger.toml"
    )


def test_extra_index_lookups_and_approve_use_every_index(project: Project) -> None:
    other = PackageIndex()
    other.add(ALPHA, "1.0", *CP311_WHEEL)
    with other.serve():
        ok(project.compile("--extra-index-url", other.url))
        assert f'file = "{CP311_WHEEL[0]}"' in project.ledger.read_text()
        other.add(ALPHA, "1.0", *TAGGED_WHEEL)
        err = ok(project.compile("--extra-index-url", other.url, "-U"), 1)
        assert f"NEW FILE    {TAGGED_WHEEL[0]}" in err
        last = err.rstrip().splitlines()[-1].strip()
        assert unbound(last) == f"{approve_line(project)} --from-index {other.url}"
        ok(project.run(*last.split()[2:], command="approve"))
        ok(project.compile("--extra-index-url", other.url, "-U"))


def strip_hash_fragments(root: Path) -> None:
    for page in (root / "simple").glob("*/index.html"):
        page.write_text(re.sub(r"#sha256=[0-9a-f]+", "", page.read_text()))


def test_an_index_without_hashes_is_said_plainly_and_approve_downloads(project: Project) -> None:
    root = project.path.parent / "static"
    static = project.index.write_static(root)
    strip_hash_fragments(root)
    args = ("-i", static, "--no-reuse-hashes", "requirements.in")
    ok(project.run(*args))
    assert f'{{ hashes = ["{sha256(SDIST[1])}"] }}' in project.ledger.read_text()  # no filename to record

    replace_sdist(project.index)
    project.index.write_static(root)
    strip_hash_fragments(root)
    err = ok(project.run(*args), 1)
    assert f"note: {ALPHA}: filenames unknown (the index lists no sha256 hashes for its files)" in err
    assert f"NEW FILE    (hash without a filename)\n                locked  {sha256(NEW_SDIST_BYTES)}" in err
    assert f"MISSING     (hash without a filename)\n                trusted {sha256(SDIST[1])}" in err
    last = err.rstrip().splitlines()[-1].strip()
    assert last == f"pinwarden approve {ALPHA}==1 --from-index {static} --hash {sha256(NEW_SDIST_BYTES)}"

    out = ok(project.run(*last.split()[2:], command="approve"))  # downloads and hashes each file
    ok(project.run(*args))
    assert f'{{ file = "{SDIST[0]}", hashes = ["{sha256(NEW_SDIST_BYTES)}"] }}' in project.ledger.read_text()
    assert out == ""


def test_find_links_only_says_no_index_can_be_asked(project: Project) -> None:
    links = project.path.parent / "links"
    links.mkdir()
    for filename, data in (WHEEL, SDIST, BETA_WHEEL):
        (links / filename).write_bytes(data)
    args = ("--no-index", "-f", str(links), "requirements.in")
    ok(project.run(*args))
    (links / TAGGED_WHEEL[0]).write_bytes(TAGGED_WHEEL[1])
    err = ok(project.run("-U", *args), 1)
    assert f"note: {ALPHA}: filenames unknown (no index was used (--no-index)" in err
    assert unbound(err.rstrip().splitlines()[-1].strip()) == f"pinwarden approve {ALPHA}==1 --from-index URL"


def test_help_lists_pinwarden_options(project: Project) -> None:
    done = project.run("--help")
    ok(done)
    assert "Usage: pinwarden pip-compile [OPTIONS] [SRC_FILES]..." in done.stdout
    assert "--audit" in done.stdout
    assert "--pinwarden-ledger PATH" in done.stdout


# -- Ctrl-C -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delay", [0.05, 0.4, 0.9])
def test_ctrl_c_leaves_the_output_the_ledger_and_no_private_copy(project: Project, delay: float) -> None:
    """The terminal's Ctrl-C reaches the wrapper and pip-compile alike, at any moment of the run:
    while pinwarden still imports (the runner starts first), while pip-compile works, or later."""
    ok(project.compile())
    project.index.add(ALPHA, "1.0", *TAGGED_WHEEL)
    before = project.state()
    argv = [sys.executable, "-m", "pinwarden", "pip-compile", "-U", "-i", project.index.url]
    run = subprocess.Popen(
        [*argv, "requirements.in"],
        cwd=project.path,
        env=project.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(delay)
    os.killpg(run.pid, signal.SIGINT)
    _, err = run.communicate(timeout=120)
    # Python's own notes may come first (a child stopped while it started, an "Exception ignored"
    # in a callback); what counts is how pinwarden ended: never with a traceback.
    last = err.rstrip().rpartition("\n")[2]
    if run.returncode == 2:
        assert last.endswith("pinwarden: interrupted; nothing was written"), err
    elif run.returncode == 1 and "Could not import runpy module" in err:
        # The signal came while Python itself started, before `-m` could run anything (seen on a
        # loaded machine): Python's own exit 1, not pinwarden's.
        assert last == "KeyboardInterrupt", err
    elif run.returncode == 1:  # the refusal was complete before the signal came
        assert unbound(last.strip()) == approve_line(project), err
    else:  # the signal came while Python itself started: nothing of pinwarden ran
        assert run.returncode == -signal.SIGINT, err
    assert project.state() == before
    assert not private_dirs(project)


# -- bad input: one line, exit 2, nothing written -----------------------------------------------------

_BACKEND = """
def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    import os
    info = os.path.join(directory, "mypkg-0.1.dist-info")
    os.makedirs(info)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\\nName: mypkg\\nVersion: 0.1\\n")
    return "mypkg-0.1.dist-info"
"""


def local_project(path: Path) -> None:
    """A project pip reads the metadata of offline (its backend needs nothing installed)."""
    path.mkdir()
    (path / "backend.py").write_text(_BACKEND)
    (path / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "mypkg"\nversion = "0.1"\n'
    )


@pytest.mark.parametrize(
    ("args", "setup", "message"),
    [
        (["--bogus"], None, "No such option"),
        (["--pinwarden-ledger"], None, "--pinwarden-ledger needs a path"),
        (["--audit", "-U"], None, "--audit re-hashes the current pins: it cannot be combined with -U/-P"),
        (["--audit"], None, "--audit checks an existing output file"),
        ([], "requirements.in", "Invalid requirement: 'foo=='"),
        ([], "requirements.txt", "pip-compile's result cannot be checked, so it was not written"),
        ([], "pyproject.toml", "pyproject.toml is not a valid pyproject.toml"),
        ([], "pinwarden-ledger.toml", "pinwarden-ledger.toml is not a valid"),
        (["missing.in"], None, "Path 'missing.in' does not exist"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    project: Project, args: list[str], setup: str | None, message: str
) -> None:
    bad = {
        "requirements.in": "foo==\n",
        "pyproject.toml": "[tool.pinwarden]\nfirst-use = 'sometimes'\n",
        "pinwarden-ledger.toml": "ledger-format = [\n",
    }
    if setup == "requirements.txt":  # pip-compile writes a local directory without a hash
        ok(project.compile())
        local_project(project.path / "mypkg")
        (project.path / "requirements.in").write_text(f"{ALPHA}\n./mypkg\n")
    elif setup is not None:
        (project.path / setup).write_text(bad[setup])
    before = project.state()
    done = project.run("-i", project.index.url, *args, *([] if args else ["requirements.in"]))
    assert done.returncode == 2, done.stderr
    last = done.stderr.rstrip().splitlines()[-1]
    assert last.startswith("pinwarden: error: ") and message in last, done.stderr
    assert "Traceback" not in done.stderr
    assert project.state() == before
    assert not private_dirs(project)
