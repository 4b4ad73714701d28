"""The `camaudit` command line: one module per command group, assembled here.

registry (init-db, template, import, devices, departments, boundary, history), audit (audit, rules), casework
(decide …, spot-check, spot-check-result), plan (plan …), assessments (assess, assessments), documents (export),
letters (letter …), users (user), demo (demo); plugin commands (such
as `serve` from the web package) come from the camaudit.commands entry points. The top stage: may import every
other stage and geo; nothing in audit imports it.
"""
from __future__ import annotations

import importlib.metadata

import click

from . import assessments, audit, casework, demo, documents, letters, plan, registry, users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """camaudit：非现场执法设备审查 (audit of non-site enforcement devices)."""


def _add_commands() -> None:
    for group in (registry, audit, casework, plan, assessments, documents, letters, users, demo):
        for name, command in group.COMMANDS.items():
            main.add_command(command, name)
    for entry in importlib.metadata.entry_points(group="camaudit.commands"):
        main.add_command(entry.load(), entry.name)


_add_commands()
