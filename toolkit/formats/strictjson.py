"""JSON as RFC 8259 defines it: ``NaN``, ``Infinity`` and numbers too large for a float are refused.

Python's ``json`` accepts all three and yields non-finite floats, and a NaN
timeout makes a wait that never ends (``nan <= 0`` is false). Everything that
reads JSON from outside (CPI requests, the CPI config, ``sim.json``) parses it
here, so no validator further in has to think about them. Raises ``ValueError``
(as ``json.loads`` does) and never touches files.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["loads"]


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses what is not JSON numbers: NaN, ±Infinity, overflow."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value
