"""Printing command results: aligned text columns for people, JSON for scripts.

Results go to stdout and nothing else does; this module must not print
diagnostics (those go to stderr through logging or ``click.echo(err=True)``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import click

Row = Mapping[str, object]


def emit_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def emit_rows(rows: Sequence[Row], columns: Sequence[str], *, as_json: bool) -> None:
    """One line per row with a header, or the rows as a JSON list."""
    if as_json:
        emit_json([dict(row) for row in rows])
        return
    if not rows:
        return
    table = [[c.upper() for c in columns]] + [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def emit_lines(items: Sequence[str], *, as_json: bool) -> None:
    if as_json:
        emit_json(list(items))
        return
    for item in items:
        click.echo(item)


def _cell(value: object) -> str:
    return "-" if value is None else str(getattr(value, "value", value))
