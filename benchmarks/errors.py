"""The benchmarks' errors: what ``make bench`` could not measure, and why."""

from __future__ import annotations


class BenchmarkError(Exception):
    """``make bench`` could not measure something: a CPI call failed or a tool misbehaved."""


class NoSshServerError(BenchmarkError):
    """No OpenSSH server is installed or it cannot run here; tests skip, ``make bench`` reports it."""
