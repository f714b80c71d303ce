"""Shared set-up for the plugin's tests.

The plugin itself is registered by the distribution's ``pytest11`` entry point
and pytester by the project's ``addopts``.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

import toolkit.formats.stemcell  # noqa: F401

# pytester's in-process runs forget the modules first imported inside them; a module
# imported again in a later run would hold a second copy of each enum (``is`` fails).
# Everything the plugin loads lazily is therefore imported here, once.
import vmtk_harness.harness  # noqa: F401
import vmtk_harness.pytest_plugin as vmtk_plugin
import vmtk_harness.sim  # noqa: F401
from vmtk_sim import sandbox

needs_sandbox = pytest.mark.skipif(sandbox.unavailable() is not None, reason=f"no sandbox: {sandbox.unavailable()}")


def entry_point_installed() -> bool:
    return bool(importlib.metadata.entry_points(group="pytest11", name="vmtk"))


def plugin_args() -> tuple[str, ...]:
    """``-p vmtk_harness.pytest_plugin`` unless the entry point loads it (pytest refuses it twice)."""
    return () if entry_point_installed() else ("-p", "vmtk_harness.pytest_plugin")


def run_inline(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An in-process run with the plugin (handed over as a module: it is imported already).

    The lab's work directory is ``lab_dir(pytester)`` unless ``args`` name another.
    """
    plugins = [] if entry_point_installed() else [vmtk_plugin]
    workdir = () if any(a.startswith("--vmtk-workdir") for a in args) else ("--vmtk-workdir", str(lab_dir(pytester)))
    return pytester.runpytest_inprocess(*workdir, *args, plugins=plugins)


def lab_dir(pytester: pytest.Pytester) -> Path:
    return pytester.path / "lab"


def clone_dirs(workdir: str | Path) -> list[str]:
    """The clone directories (and any markers) left in a lab's work directory."""
    root = Path(workdir) / "clones"
    return sorted(p.name for p in root.iterdir() if not p.name.endswith(".lock")) if root.exists() else []
