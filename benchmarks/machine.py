"""The machine the figures were taken on: kernel, CPU model, cores, Python. Reads only /proc and platform."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe() -> list[str]:
    uname = " ".join(platform.uname())
    return [
        f"`uname -a`: {uname}",
        f"CPU: {cpu_model()}, {os.cpu_count()} cores",
        f"Python: {sys.version.split()[0]} ({sys.executable})",
    ]
