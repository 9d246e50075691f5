"""The command line: one module per command group, no import cycle between them.

- `main`: the parser's subcommands, dispatch, signals
- `settings`: `show`, `export`, `import`, `import-default`, `presets`
- `checks`: `send-test`, `probe`
- `oauth`: `oauth login|status|logout`
- `outbox`: `outbox serve|list|clear` and `history`
- `mailbox`: `outbox show|wait` (the QA mailbox)
- `output`: what every command prints (`report`, `print_json`, `Output`)
- `saved`: what commands read (the saved settings, a password on standard input)

`main` imports the command modules (`outbox`, `oauth` and, through `outbox`, `mailbox` only when
such a command runs); they import `output` and `saved`, which import none of them.
"""

from smtp_desktop.cli.checks import exit_code_for_outcome
from smtp_desktop.cli.main import add_subcommands, run
from smtp_desktop.cli.output import print_json, report

__all__ = ["add_subcommands", "exit_code_for_outcome", "print_json", "report", "run"]
