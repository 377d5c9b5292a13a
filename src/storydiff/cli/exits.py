"""Exit codes, and the exception that turns a StorydiffError into one line and exit code 2."""

from __future__ import annotations

import click

EXIT_DIFFERENT = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class UserError(click.ClickException):
    """A StorydiffError as click shows it: one line on stderr, exit code 2."""

    exit_code = EXIT_USAGE

    def format_message(self) -> str:
        return self.message
