"""The errors a user sees: each says what is wrong and how to fix it, in one message. The CLI turns
every `UserError` into `error: <message>` and exit status 2; nothing else reaches the user as a
traceback unless it is a bug."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix; the message says what and how."""


class InputError(UserError):
    """Bad input: it names the file, where in it, and what is wrong."""

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


class ModelNotAvailable(UserError):
    """The model cannot be used as asked: its weights are not on disk and could not be fetched, or a
    family, language code or device does not fit it. The message says how to fix that."""


class EngineUnavailable(UserError):
    """The chosen engine cannot run: Ray is not installed, no cluster answers at the address, or the
    model actors cannot start. The message says which, and how to fix it."""
