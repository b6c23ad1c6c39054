"""docs/bot-workflow.yml and the command's help: what the documentation of the bot path promises."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from pinwarden.cli import build_parser, main

ROOT = Path(__file__).parents[1]
WORKFLOW = ROOT / "docs" / "bot-workflow.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    yaml = pytest.importorskip("yaml")
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_it_runs_on_pull_request_never_pull_request_target(workflow: dict[Any, Any]) -> None:
    events = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert set(events) == {"pull_request"}


def test_least_permissions(workflow: dict[Any, Any]) -> None:
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write"}


def test_only_the_bots_own_pull_requests(workflow: dict[Any, Any]) -> None:
    (job,) = workflow["jobs"].values()
    condition = job["if"]
    for needed in (
        "github.event.pull_request.head.repo.full_name == github.repository",
        "'dependabot[bot]'",
        "'renovate[bot]'",
        "github.actor == github.event.pull_request.user.login",
    ):
        assert needed in condition


def test_actions_are_pinned_by_full_commit_sha(workflow: dict[Any, Any]) -> None:
    uses = [step["uses"] for step in _steps(workflow) if "uses" in step]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses


def test_no_event_value_is_spliced_into_a_script(workflow: dict[Any, Any]) -> None:
    scripts = [step["run"] for step in _steps(workflow) if "run" in step]
    assert scripts and not any("${{" in script for script in scripts)


def test_the_commands_it_runs_parse() -> None:
    text = WORKFLOW.read_text()
    assert 'pinwarden accept-first-use --base "origin/$BASE_REF" --commit' in text
    args = build_parser().parse_args(["accept-first-use", "--base", "origin/main", "--commit"])
    assert args.command == "accept-first-use" and args.commit


def test_help_says_what_it_does_its_defaults_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["accept-first-use", "--help"], io.StringIO(), io.StringIO())
    text = " ".join(capsys.readouterr().out.split())
    for words in (
        "exit codes: 0 recorded",
        "1 refused",
        "2 error",
        "--commit",
        "default: only write it",
        "(default: 15.0)",
    ):
        assert words in text
    assert "accept-first-use" in build_parser().format_help()


def test_base_is_required() -> None:
    err = io.StringIO()
    assert main(["accept-first-use"], io.StringIO(), err) == 2
    assert err.getvalue().startswith("pinwarden: error: ") and "--base" in err.getvalue()
