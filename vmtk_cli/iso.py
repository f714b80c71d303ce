"""``vmtk iso``: the agent-settings CD-ROM image, to and from JSON.

A thin layer over ``toolkit.formats.iso``; host files go through the App's runner.
It must not build ISO structures itself.
"""

from __future__ import annotations

import json
from typing import IO

import click

from toolkit.formats.iso import read_settings_iso, settings_iso
from vmtk_cli.app import App, pass_app
from vmtk_cli.hostpaths import require_parent_dir
from vmtk_cli.output import emit_json


@click.group("iso")
def group() -> None:
    """Build and read settings CD-ROM images (one file, 'env', holding JSON)."""


@group.command()
@click.argument("settings_json", metavar="SETTINGS_JSON", type=click.File("rb"))
@click.argument("out_iso", metavar="OUT_ISO")
@pass_app
def build(app: App, settings_json: IO[bytes], out_iso: str) -> None:
    """Write OUT_ISO holding SETTINGS_JSON ('-' reads standard input)."""
    try:
        settings = json.loads(settings_json.read())
    except ValueError as exc:
        raise click.ClickException(f"{settings_json.name} is not valid JSON: {exc}") from exc
    if not isinstance(settings, dict):
        raise click.ClickException(f"{settings_json.name} must hold a JSON object")
    require_parent_dir(app.host, out_iso)
    app.host.write_bytes(out_iso, settings_iso(settings))


@group.command()
@click.argument("iso", metavar="ISO")
@pass_app
def read(app: App, iso: str) -> None:
    """Print the settings held in ISO as JSON."""
    emit_json(read_settings_iso(app.host.read_bytes(iso)))
