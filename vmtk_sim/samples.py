"""Sample VMware files that ship with the simulator, for the demo and the harness.

The repository's ``fixtures/`` holds real VMware-written files (the reference
OVF and streamOptimized VMDK) and a small stemcell image made from them
(``stemcell/image``), which boots on the simulator. An installed distribution
carries what the demo and the test harness need
as package data (``vmtk_sim.sample_files``, mapped from ``fixtures/stemcell/``
by setup.py, each file under its base name); a source checkout reads them from ``fixtures/`` itself. This module
is the one way to find them; it must not copy or change them.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

__all__ = ["SHIPPED", "sample_path"]

# What the wheel carries (setup.py's package data lists the same names).
SHIPPED = ("stemcell/image",)
_CHECKOUT = Path(__file__).resolve().parents[1] / "fixtures"


def sample_path(name: str) -> Path:
    """The sample file ``name`` (one of ``SHIPPED``), installed or in a checkout; FileNotFoundError if neither."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not a shipped sample (one of {', '.join(SHIPPED)})")
    for candidate in (_installed(name), _CHECKOUT / name):
        if candidate is not None and candidate.is_file():
            return candidate
    raise FileNotFoundError(f"the sample file {name!r} is neither installed nor in a checkout")


def _installed(name: str) -> Path | None:
    try:
        root = importlib.resources.files("vmtk_sim.sample_files")
    except ModuleNotFoundError:  # a checkout: the files are only under fixtures/
        return None
    return Path(str(root.joinpath(name.rsplit("/", 1)[-1])))
