"""The third-party files the release carries: pinned, cached, verified.

``release/config/blobs.yml`` is BOSH's blob index (path -> size, sha) and here
also the lock: a build carries exactly the files listed there, each checked
against its sha256, so the same commit always yields the same package. They are
fetched with ``pip download`` into a cache (``.cache/wheels/``) only when
missing; with a warm cache the build needs no network. ``relock`` re-resolves
the pins below and rewrites the index. Must NOT build wheels or archives.

What is carried, and why:
- ``wheels/``: pip (run from its wheel by ``packaging``: stemcells ship python3
  without python3-venv/pip), the pure-Python runtime dependencies, and for SSH
  mode paramiko with its compiled dependencies (cryptography, bcrypt and pynacl
  are abi3, one wheel per CPU; cffi is per Python version) for linux x86_64 and
  aarch64, Python 3.10 (Jammy) to 3.13 (Noble has 3.12).
- ``sources/``: the PyYAML sdist, repacked as a pure wheel by ``wheelfile``.
- ``build/``: setuptools and wheel, to build vmtk's own wheel offline.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from release.errors import ReleaseBuildError
from toolkit.host.digest import sha256_of
from toolkit.host.runner import LocalRunner

Run = Callable[..., str]

PIP = "pip==26.3"
# filelock 4.2 needs Python 3.11; Jammy stemcells have 3.10.
PURE_PINS = ("click==8.5.1", "pexpect==4.9.0", "ptyprocess==0.7.0", "pycdlib==1.22.0", "filelock==4.1.0")
PYYAML_PIN = "PyYAML==6.0.4"
# wheel needs packaging: pinned too, or each download takes the newest and the digests no longer match.
BUILD_PINS = ("setuptools==84.2.1", "wheel==0.48.0", "packaging==26.3")
# pip evaluates environment markers for the running interpreter, not the target
# one: cryptography's "typing-extensions; python_version < '3.11'" is named here.
SSH_PINS = ("paramiko==5.1.0", "typing-extensions==4.16.0")
SSH_CONSTRAINTS = ("invoke==3.0.3", "bcrypt==5.0.0", "cryptography==50.0.2", "pynacl==1.6.2", "cffi==2.1.1")
# cffi's pycparser: the newest for each target Python (3.12 needs 3.11+), pinned so a new
# release upstream cannot change what a download brings.
PYCPARSER_PINS = {
    "3.10": "pycparser==3.11",
    "3.11": "pycparser==3.12",
    "3.12": "pycparser==3.12",
    "3.13": "pycparser==3.12",
}
SSH_ARCHES = ("x86_64", "aarch64")
SSH_PYTHONS = ("3.10", "3.11", "3.12", "3.13")


@dataclass(frozen=True, slots=True)
class Blob:
    path: str  # "wheels/click-8.5.1-py3-none-any.whl"
    size: int
    sha256: str  # hex


def read_index(text: str) -> list[Blob]:
    raw = yaml.safe_load(text) or {}
    try:
        return [Blob(path, int(v["size"]), str(v["sha"]).removeprefix("sha256:")) for path, v in raw.items()]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ReleaseBuildError(f"release/config/blobs.yml is malformed: {exc}") from exc


def render_index(blobs: Sequence[Blob]) -> str:
    body = {b.path: {"size": b.size, "sha": f"sha256:{b.sha256}"} for b in sorted(blobs, key=lambda b: b.path)}
    header = "# Pinned third-party files (python -m release.build --relock rewrites this).\n"
    return header + "---\n" + yaml.safe_dump(body, sort_keys=True)


def ensure(blobs: Sequence[Blob], cache: Path, run: Run) -> dict[str, Path]:
    """Each pinned file's verified path in ``cache``, downloading once if any is missing."""
    if _stale(blobs, cache):
        with tempfile.TemporaryDirectory() as tmp:
            download(Path(tmp), run)
            _merge(Path(tmp), cache)
    bad = _stale(blobs, cache)
    if bad:
        raise ReleaseBuildError("pinned files missing or changed after download: " + ", ".join(bad))
    return {b.path: cache / b.path for b in blobs}


def _stale(blobs: Sequence[Blob], cache: Path) -> list[str]:
    return [b.path for b in blobs if not (cache / b.path).is_file() or _sha256(cache / b.path) != b.sha256]


def _merge(fresh: Path, cache: Path) -> None:
    for path in sorted(fresh.rglob("*")):
        if path.is_file():
            target = cache / path.relative_to(fresh)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), target)


def relock(cache: Path, run: Run) -> list[Blob]:
    """Resolve the pins afresh, cache what was fetched, and return the new index."""
    with tempfile.TemporaryDirectory() as tmp:
        download(Path(tmp), run)
        blobs = [
            Blob(str(p.relative_to(tmp)), p.stat().st_size, _sha256(p))
            for p in sorted(Path(tmp).rglob("*"))
            if p.is_file()
        ]
        _merge(Path(tmp), cache)
    return blobs


def download(dest: Path, run: Run) -> None:
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    binary = [*pip, "--only-binary=:all:", "--no-deps"]
    # The oldest Python the release supports: pip refuses a pin that needs newer.
    run([*binary, "--python-version", SSH_PYTHONS[0], "-d", str(dest / "wheels"), PIP, *PURE_PINS])
    run([*pip, "--only-binary=:all:", "-d", str(dest / "build"), *BUILD_PINS])
    # Only PyYAML as source: ":all:" would also build its build dependencies from source
    # (pip prepares the sdist's metadata), and compiling Cython takes many minutes.
    run([*pip, "--no-binary=pyyaml", "--no-deps", "-d", str(dest / "sources"), PYYAML_PIN])
    for version in SSH_PYTHONS:
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as constraints:
            constraints.write("\n".join((*SSH_CONSTRAINTS, PYCPARSER_PINS[version])) + "\n")
            constraints.flush()
            for arch in SSH_ARCHES:
                run(
                    [
                        *pip,
                        "--only-binary=:all:",
                        "-c",
                        constraints.name,
                        "-d",
                        str(dest / "wheels"),
                        *_platform_args(arch, version),
                        *SSH_PINS,
                    ]
                )


def _platform_args(arch: str, version: str) -> list[str]:
    tags = [f"manylinux_2_28_{arch}", f"manylinux_2_26_{arch}", f"manylinux_2_17_{arch}", f"manylinux2014_{arch}"]
    return [arg for tag in tags for arg in ("--platform", tag)] + [
        "--python-version",
        version,
        "--implementation",
        "cp",
    ]


def _sha256(path: Path) -> str:
    return sha256_of(LocalRunner(), str(path))
