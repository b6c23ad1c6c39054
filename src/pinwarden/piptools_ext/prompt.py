"""Asking a person at a terminal, one version at a time, with the words decide.py defines."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from ..shared.decide import Choice, Question, parse_answer, prompt_text
from ..shared.terminal import person_at

MAX_ATTEMPTS = 3  # answers that mean nothing before the question counts as aborted (as in the plugin)


def is_interactive(stdin: TextIO, err: TextIO) -> bool:
    """A person can answer only at a terminal (question on stderr, answer on stdin) and with `CI`
    not set to anything: the plugin's rule (shared/terminal.py)."""
    return person_at(stdin, err)


def terminal_asker(stdin: TextIO, err: TextIO) -> Callable[[Question], Choice]:
    def ask(question: Question) -> Choice:
        for _ in range(MAX_ATTEMPTS):
            err.write(prompt_text(question))
            err.flush()
            line = stdin.readline()
            if not line:  # end of input: nobody to approve, so nothing is trusted
                err.write("\n")
                return Choice.ABORT
            choice = parse_answer(line, question)
            if choice is not None:
                return choice
            words = "approve, reject or abort" if question.can_reject else "approve or abort"
            err.write(f"Please answer {words}.\n")
        return Choice.ABORT

    return ask
