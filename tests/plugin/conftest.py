"""The vmtk plugin (and pytester) for this directory's tests, when nothing loaded them earlier.

Once the ``pytest11`` entry point is installed the plugin is already registered
and this does nothing for it. Registered here, after the command line was
parsed, a plugin's options were never parsed: the vmtk plugin falls back to its
own defaults; pytester's two options get theirs below.
"""

from __future__ import annotations

import importlib.metadata

import pytest

import toolkit.pytest_plugin as vmtk_plugin
from toolkit.sim import sandbox

PYTESTER_DEFAULTS = {"lsof": False, "runpytest": "inprocess"}
needs_sandbox = pytest.mark.skipif(sandbox.unavailable() is not None, reason=f"no sandbox: {sandbox.unavailable()}")


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.is_registered(vmtk_plugin):
        config.pluginmanager.register(vmtk_plugin, "vmtk")
    if not config.pluginmanager.has_plugin("pytester"):
        for name, default in PYTESTER_DEFAULTS.items():
            if not hasattr(config.option, name):
                setattr(config.option, name, default)
        config.pluginmanager.import_plugin("pytester")


def plugin_args() -> tuple[str, ...]:
    """``-p toolkit.pytest_plugin`` unless the entry point loads it (pytest refuses it twice)."""
    installed = importlib.metadata.entry_points(group="pytest11", name="vmtk")
    return () if installed else ("-p", "toolkit.pytest_plugin")
