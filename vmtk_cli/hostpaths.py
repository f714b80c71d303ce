"""Checks on host paths given on the command line, made before anything is done.

A command that would fail halfway (a missing target directory, a missing host
file for vmrun to copy) is refused up front, in the user's terms: the path they
gave. Otherwise the failure surfaces later in the toolkit's terms (an atomic
write's ``.tmp-xxxxxxxx`` file, or vmrun's "A file was not found" that cannot
say which side was missing). Paths go through the App's runner, so they are the
VMware host's (``--ssh``). This module must not write or remove anything.
"""

from __future__ import annotations

import click

from toolkit.host.runner import Runner


def require_parent_dir(host: Runner, path: str) -> None:
    """``path`` can be created: the directory it goes in exists."""
    parent = host.path.dirname(path) or "."
    if not host.is_dir(parent):
        raise click.ClickException(f"cannot write {path}: the directory {parent} does not exist (create it first)")


def require_host_file(host: Runner, path: str) -> None:
    """``path`` is an existing host file (not a directory)."""
    if not host.exists(path):
        raise click.ClickException(f"the host file {path} does not exist (check the host path)")
    if host.is_dir(path):
        raise click.ClickException(f"the host path {path} is a directory (give a file)")


def require_dir_if_present(host: Runner, path: str, what: str) -> None:
    """``path`` is a directory or nothing at all (a missing one is empty)."""
    if host.exists(path) and not host.is_dir(path):
        raise click.ClickException(f"{path} is not a directory (give the {what})")
