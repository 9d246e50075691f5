"""The command line: one module per command group, no import cycle between them.

- `main`: the parser's subcommands, dispatch, signals; `show`, `export`, `import`,
  `import-default`, `send-test`, `probe`, `presets`
- `outbox`: `outbox serve|list|clear` and `history`
- `mailbox`: `outbox show|wait` (the QA mailbox)
- `output`: what every command prints (`report`, `print_json`)

`main` imports `outbox` (and `outbox` imports `mailbox`) only when such a command runs; all of
them import `output`, which imports none of them.
"""

from smtp_desktop.cli.main import add_subcommands, exit_code_for_outcome, run
from smtp_desktop.cli.output import print_json, report

__all__ = ["add_subcommands", "exit_code_for_outcome", "print_json", "report", "run"]
