"""The project as a user installs it: its wheel, built from this checkout, in a virtualenv of its own.

``installed_wheel(root)`` builds the wheel (``pip wheel``, as ``pip install .``
would) and installs it, not editable, into a fresh virtualenv made with
``--without-pip``. The runtime dependencies are not downloaded again: a ``.pth``
file puts this test run's site-packages (click, pyyaml, pycdlib, filelock,
paramiko, bubblewrap, pytest...) after the virtualenv's own, where ``.pth``
files are not read, so the checkout's editable install stays invisible and
every ``vmtk_*``/``toolkit``/``cpi`` import comes from the wheel. Built once per
test run (all xdist workers share it, under a lock). Nothing here asserts.
"""

from __future__ import annotations

import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import filelock

BUILD_TIMEOUT = 300


@dataclass(frozen=True)
class Installed:
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / ("Scripts" if sys.platform == "win32" else "bin")

    @property
    def python(self) -> Path:
        return self.bin / ("python.exe" if sys.platform == "win32" else "python")


def installed_wheel(root: Path, shared: Path) -> Installed:
    """The wheel of ``root`` installed in ``shared/venv`` (built there once, whoever asks first)."""
    shared.mkdir(parents=True, exist_ok=True)
    installed = Installed(shared / "venv")
    with filelock.FileLock(str(shared / "build.lock")):
        if not (shared / "done").exists():
            _build(root, shared, installed)
            (shared / "done").write_text("ok")
    return installed


def _build(root: Path, shared: Path, installed: Installed) -> None:
    wheels = shared / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(root)])
    _run([sys.executable, "-m", "venv", "--without-pip", str(installed.venv)])
    wheel = next(wheels.glob("vmrun_toolkit-*.whl"))
    _run([sys.executable, "-m", "pip", "--python", str(installed.python), "install", "--no-deps", "--no-index",
          "--quiet", str(wheel)])  # fmt: skip
    purelib = subprocess.run(
        [str(installed.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    Path(purelib, "test-run-dependencies.pth").write_text("\n".join(dict.fromkeys(ours)) + "\n")


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=BUILD_TIMEOUT)
