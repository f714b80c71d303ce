"""Assertions every CLI test shares: success, and the one-line error format."""

from __future__ import annotations

from pathlib import Path

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


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its content (None for a directory): compare before and after."""
    return {str(p.relative_to(root)): _content(p) for p in sorted(root.rglob("*"))}


def _content(path: Path) -> bytes | None:
    if path.is_symlink():  # a guest's symlinks may dangle on the host
        return b"-> " + str(path.readlink()).encode()
    return None if path.is_dir() else path.read_bytes()
