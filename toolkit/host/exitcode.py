"""The exit code a wrapper script records in a file.

Programs whose exit status the caller cannot collect directly (guest programs run
by vmrun, detached Windows programs on an SSH host) run through a wrapper that
writes its exit code into a file once the program ends. This module parses that
file's text; it must not read the file itself (the caller's Runner or guest
workspace does).
"""

from __future__ import annotations

__all__ = ["parse_exit_code"]


def parse_exit_code(text: str) -> int | None:
    """The exit code a wrapper wrote (its first line), or None while it is not (fully) written yet."""
    lines = text.strip().splitlines()
    stripped = lines[0].strip() if lines else ""
    digits = stripped.removeprefix("-")
    return int(stripped) if digits.isascii() and digits.isdigit() else None
