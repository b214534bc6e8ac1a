"""The one error type users see for bad input: it names the file, where in it, and what is wrong."""

from __future__ import annotations


class InputError(Exception):
    def __init__(self, path: str, problem: str, line: int | None = None, where: str | None = None):
        self.path = path
        self.problem = problem
        self.line = line
        self.where = where
        super().__init__(str(self))

    def __str__(self) -> str:
        location = self.path
        if self.line is not None:
            location += f":{self.line}"
        if self.where is not None:
            location += f": {self.where}"
        return f"{location}: {self.problem}"


class ModelNotAvailable(Exception):
    """The weights are not on disk and could not be fetched; the message says how to fix that."""


class EngineUnavailable(Exception):
    """The chosen engine cannot run: Ray is not installed, no cluster answers at the address, or the
    model actors cannot start. The message says which, and how to fix it."""
