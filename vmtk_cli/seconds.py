"""The click type of every duration option: a finite, non-negative number of seconds.

click's float accepts ``inf`` and ``nan``, and a wait that never ends is what a
timeout option exists to prevent; a negative one is a typo. Refused as a usage
error (exit 2) before anything runs. Parsing only: nothing here touches a host.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # click 8.5 made ParamType generic; older ones (allowed: >= 8.1) are not
    _ParamType = click.ParamType[float, object]
else:
    _ParamType = click.ParamType


class Seconds(_ParamType):
    name = "seconds"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float) and math.isfinite(value) and value >= 0:
            return value
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number) or number < 0:
            self.fail(f"{value!r} is not a finite, non-negative number of seconds", param, ctx)
        return number


SECONDS = Seconds()
