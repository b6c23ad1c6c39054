"""Talking to the person through Poetry's IO: the report, the per-version question, the refusal."""

from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from cleo.formatters.formatter import Formatter

from ..shared.decide import Choice, Question, parse_answer, prompt_text
from ..shared.errors import PinwardenError
from ..shared.terminal import person_at
from .flow import Aborted, BuildsRefused, Hooks, IndexFiles, Refused, Verify, Yanked

if TYPE_CHECKING:
    from collections.abc import Callable

    from cleo.io.io import IO
    from poetry.console.exceptions import PoetryRuntimeError

MAX_ATTEMPTS = 3


def hooks_for(io: IO, verify: Verify, yanked: Yanked, index_files: IndexFiles | None = None) -> Hooks:
    hooks = Hooks(
        ask=asker(io) if at_terminal(io) else None,
        say=partial(say, io),
        verify=verify,
        yanked=yanked,
        verbose=io.is_verbose(),
    )
    return hooks if index_files is None else replace(hooks, index_files=index_files)


def at_terminal(io: IO) -> bool:
    """A person can answer only when stdin and stderr are terminals, without -n (or -q, which Poetry
    makes non-interactive too) and outside CI. Piped answers are never taken: a script that pipes
    `approve` would approve without anyone reading the report. `CI` set to any value is nobody,
    as in the pip-compile wrapper (shared/terminal.py)."""
    return io.is_interactive() and person_at(sys.stdin, sys.stderr)


def say(io: IO, text: str) -> None:
    io.write_error_line(Formatter.escape(text.removesuffix("\n")))


def asker(io: IO) -> Callable[[Question], Choice]:
    from cleo.ui.question import Question as CleoQuestion

    def ask(question: Question) -> Choice:
        for _ in range(MAX_ATTEMPTS):
            prompt = CleoQuestion(Formatter.escape(prompt_text(question).rstrip()), default="")
            prompt.set_max_attempts(1)  # cleo would also retry at end of input, waiting forever
            prompt.set_validator(partial(_choice, question))
            try:
                choice: Choice = prompt.ask(io)
            except ValueError as error:  # an answer that means nothing: ask again
                io.write_error_line(f"<error>{error}</error>")
                continue
            except Exception:  # end of input: cleo raises "Aborted"
                return Choice.ABORT
            return choice
        return Choice.ABORT

    return ask


def _choice(question: Question, answer: str | None) -> Choice:
    choice = parse_answer(answer or "", question)
    if choice is None:
        words = "approve, reject or abort" if question.can_reject else "approve or abort"
        raise ValueError(f"Please answer {words}.")
    return choice


def poetry_error(error: PinwardenError) -> PoetryRuntimeError:
    """Poetry prints a PoetryRuntimeError without a traceback and exits 1; a refusal ends with the
    command that approves, so that is the last thing a CI log shows."""
    from poetry.console.exceptions import ConsoleMessage, PoetryRuntimeError

    from ..shared.index.sources import redact_url

    text = redact_url(str(error))  # a password in a source URL is never printed
    if isinstance(error, (Refused, Aborted, BuildsRefused)):
        reason = text  # a decision, not an error: its own words, exit 1
    else:
        reason = "pinwarden: error: " + text.removeprefix("pinwarden: ").removeprefix("error: ")
    messages = []
    if isinstance(error, (Refused, BuildsRefused)):
        messages.append(ConsoleMessage(Formatter.escape(error.report.rstrip("\n"))))
    return PoetryRuntimeError(Formatter.escape(reason), messages)
