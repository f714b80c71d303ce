"""Assertions every CLI test shares: success, and the one-line error format."""

from __future__ import annotations

from click.testing import Result


def assert_ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def assert_error(result: Result, *needles: str) -> str:
    """The failure is exactly one ``Error: ...`` line on stderr, exit 1, no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]
    return lines[0]
