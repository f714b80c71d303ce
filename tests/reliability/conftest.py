"""The CPI-over-simulator fixtures of ``tests/cpi`` (``make_cpi``, ``cpi``), shared here."""

from __future__ import annotations

from tests.cpi.conftest import cpi, make_cpi

__all__ = ["cpi", "make_cpi"]
