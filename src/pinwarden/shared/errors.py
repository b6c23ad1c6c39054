"""One small error hierarchy; the CLI maps all of it to exit code 2 in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in an input, and where (a line number or a key path)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class PinwardenError(Exception):
    """Anything that stops pinwarden before it can give an answer (exit code 2)."""


class InputError(PinwardenError):
    """A file that cannot be read as what it claims to be; carries every problem found."""

    def __init__(self, source: str, what: str, problems: list[Problem]) -> None:
        self.source = source
        self.what = what
        self.problems = tuple(problems)
        super().__init__(self.one_line())

    def one_line(self, limit: int = 5) -> str:
        shown = "; ".join(str(p) for p in self.problems[:limit])
        more = len(self.problems) - limit
        suffix = f"; and {more} more" if more > 0 else ""
        count = f" ({len(self.problems)} problems)" if len(self.problems) > 1 else ""
        return f"{self.source} is not a valid {self.what}{count}: {shown}{suffix}"


class Collector:
    """Gathers problems so a reader reports all of them, not only the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def raise_if_any(self, source: str, what: str) -> None:
        if self.problems:
            raise InputError(source, what, self.problems)
