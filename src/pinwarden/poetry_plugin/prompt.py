"""Talking to the person through Poetry's IO: the report, the per-version question, the refusal."""

from __future__ import annotations

import os
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from cleo.formatters.formatter import Formatter

from ..shared.decide import Choice, Question, parse_answer, prompt_text
from ..shared.errors import PinwardenError
from .flow import Hooks, IndexFiles, Refused, Verify, Yanked

if TYPE_CHECKING:
    from collections.abc import Callable

    from cleo.io.io import IO
    from poetry.console.exceptions import PoetryRuntimeError

_TRUTHY = ("1", "true", "yes", "on")
MAX_ATTEMPTS = 3


def hooks_for(io: IO, verify: Verify, yanked: Yanked, index_files: IndexFiles | None = None) -> Hooks:
    hooks = Hooks(
        ask=asker(io) if at_terminal(io) else None,
        say=partial(say, io),
        verify=verify,
        yanked=yanked,
    )
    return hooks if index_files is None else replace(hooks, index_files=index_files)


def at_terminal(io: IO) -> bool:
    """Poetry's IO is non-interactive with -n, -q or no TTY on stdin; CI counts as nobody too."""
    return io.is_interactive() and os.environ.get("CI", "").strip().lower() not in _TRUTHY


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
    reason = text if text.startswith("pinwarden") else f"pinwarden: {text}"
    messages = []
    if isinstance(error, Refused):
        messages.append(ConsoleMessage(Formatter.escape(error.report.rstrip("\n"))))
    return PoetryRuntimeError(Formatter.escape(reason), messages)
