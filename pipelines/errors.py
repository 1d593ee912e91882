"""Errors a user sees: each names the file, the column and what was expected."""

from __future__ import annotations


class InputError(Exception):
    """A table or file that cannot be used at all (exit code 2)."""

    def __init__(self, source: str, message: str, column: str | None = None) -> None:
        self.source = source
        self.column = column
        self.message = message
        where = f"{source}, column '{column}'" if column else source
        super().__init__(f"{where}: {message}")


class ProblemFound(Exception):
    """The command ran and found a problem it reports (exit code 1)."""
