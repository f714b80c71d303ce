"""The project's own side of the release: its git state and vmtk's wheel.

Responsible for building ``vmrun_toolkit-<version>-py3-none-any.whl`` (the CPI's wheel) from the working
tree (tracked files plus untracked, non-ignored ones, as ``bosh create-release``
takes a dev release from the working tree) with pip, offline (setuptools and
wheel come from the pinned cache), reproducibly: the sources are copied with
normalised modes and ``SOURCE_DATE_EPOCH`` is the commit's time, so the same
commit gives the same wheel bytes. Must NOT fetch anything or write outside the
temporary build directory.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from release.blobs import Run
from release.errors import ReleaseBuildError

# What the CPI's wheel is built from: the primitives and the CPI, nothing above
# them. setup.py finds the packages that are there and declares only their
# commands, so the release carries no simulator, harness or CLI.
WHEEL_SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "toolkit", "cpi", "guest_scripts")
DIST = "vmrun_toolkit"  # the distribution's name as wheel files spell it


@dataclass(frozen=True, slots=True)
class GitState:
    commit_hash: str  # short, as bosh create-release records it
    commit_time: int  # seconds since the epoch
    uncommitted_changes: bool


def git_state(root: Path, run: Run) -> GitState:
    head = run(["git", "log", "-1", "--format=%h %ct"], cwd=root).split()
    if len(head) != 2:
        raise ReleaseBuildError(f"{root} has no commit to build a release from")
    dirty = bool(run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root).strip())
    return GitState(head[0], int(head[1]), dirty)


def project_wheel(root: Path, build_tools: Path, epoch: int, run: Run) -> tuple[str, bytes]:
    """vmtk's wheel as (file name, bytes), built offline from the working tree."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "src"), Path(tmp, "out")
        _copy_sources(root, src, run)
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch), "PIP_CONFIG_FILE": os.devnull}
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-index",
                "--disable-pip-version-check",
                "--find-links",
                str(build_tools),
                "-w",
                str(out),
                str(src),
            ],
            env=env,
        )
        wheels = sorted(out.glob(f"{DIST}-*.whl"))
        if len(wheels) != 1:
            raise ReleaseBuildError(f"pip wheel produced {[w.name for w in wheels]}, expected one {DIST} wheel")
        return wheels[0].name, wheels[0].read_bytes()


def _copy_sources(root: Path, dest: Path, run: Run) -> None:
    listed = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *WHEEL_SOURCES], cwd=root
    )
    for name in sorted(set(filter(None, listed.split("\0")))):
        source = root / name
        if not source.is_file() or "__pycache__" in source.parts:  # deleted, not yet committed
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(0o755 if os.access(source, os.X_OK) else 0o644)
