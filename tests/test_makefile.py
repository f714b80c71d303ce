"""`make test` and `make test-fast` say up front how long they take."""

from __future__ import annotations

import re
from pathlib import Path

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


def recipe(target: str) -> list[str]:
    text = MAKEFILE.read_text(encoding="utf-8")
    found = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.MULTILINE)
    assert found, f"no recipe for {target}"
    return [line[1:] for line in found.group(1).splitlines()]


def test_the_test_targets_say_how_long_they_take_before_running() -> None:
    for target in ("test", "test-fast"):
        first, *rest = recipe(target)
        assert first.startswith("@echo ") and re.search(r"\d+ minutes", first), (target, first)
        assert any("pytest" in line for line in rest), target


def test_test_fast_leaves_out_the_slow_marker() -> None:
    assert any('-m "not slow"' in line for line in recipe("test-fast"))
