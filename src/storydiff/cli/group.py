"""The `storydiff` command group, its exit codes and the entry point."""

from __future__ import annotations

from typing import Any

import click

from .. import __version__
from ..errors import StorydiffError
from ..terminal import command_rank
from .exits import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, UserError
from .io import _discard_stdout


class StorydiffGroup(click.Group):
    """Maps the core's exceptions, Ctrl-C and a closed stdout to messages and exit codes, in one place."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands, key=lambda name: (command_rank(name), name))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands in order of use, each with its whole first sentence (click cuts it to fit)."""
        names = self.list_commands(ctx)
        rows = [(name, self.commands[name].get_short_help_str(limit=1000)) for name in names]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StorydiffError as error:
            from ..render.text import visible_path

            raise UserError(visible_path(str(error))) from None
        except KeyboardInterrupt:
            # The pipeline's workers ignore Ctrl-C and the engine has waited for them, so this
            # is the only line printed. The newline ends the terminal's "^C".
            click.echo("\nstorydiff: interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # `storydiff ... | head`: the reader has all it wants. Say nothing, and point stdout
            # at /dev/null so that the flush at exit cannot fail again.
            _discard_stdout()
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None


@click.group(cls=StorydiffGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="storydiff")
def cli() -> None:
    """Find near-duplicate texts in a corpus and show exactly how the copies differ.

    \b
    Exit codes: 0 success (with or without duplicates), 2 usage or input error,
    130 interrupted; `storydiff diff` exits 1 when the texts differ, check 1 when it
    finds near-duplicates.
    """


def main() -> None:
    """Console-script entry point."""
    from ..engines.local import relax_garbage_collection

    relax_garbage_collection()
    cli(prog_name="storydiff")
