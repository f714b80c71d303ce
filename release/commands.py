"""The release builder's one way to run a program (pip, git).

Responsible for running a command to completion and turning a failure into a
``ReleaseBuildError`` that names the command and ends with its output. The
builder is a build tool run by ``make release``, outside the toolkit's Runner
boundary (it never touches a VMware host). Must NOT decide what to run.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from release.errors import ReleaseBuildError

log = logging.getLogger(__name__)


def run(argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """stdout of ``argv``; ReleaseBuildError when it cannot start or exits non-zero."""
    log.debug("running %s", " ".join(argv))
    try:
        done = subprocess.run(
            list(argv), cwd=cwd, env=dict(env) if env is not None else None, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise ReleaseBuildError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise ReleaseBuildError(f"{' '.join(argv[:3])} ... exited {done.returncode}:\n{tail}")
    return done.stdout
