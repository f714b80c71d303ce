"""Benchmark 5: the toolkit's file primitives on this machine's disk and CPU.

100 GiB monolithicSparse create (time and host bytes, ``st_blocks * 512``), the
settings ISO, a .vmx edit on a 500-line file, and streamOptimized ->
monolithicSparse conversion of a 1 GiB disk full of data, next to
``qemu-img convert`` on the same input when it is installed. Large inputs are
built once into ``.bench/`` and reused. Only the toolkit's pure functions on
local files are measured: no simulator, no CPI.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks.timing import median_seconds
from toolkit.formats import vmdk
from toolkit.formats.iso import settings_iso
from toolkit.formats.streamvmdk import convert_stream_optimized, write_stream_optimized
from toolkit.vmware.vmx import Vmx

GIB = 1024**3
LARGE_VMX = Path(__file__).resolve().parents[1] / "fixtures" / "vmx" / "large-500-lines.vmx"
SETTINGS = {
    "agent_id": "agent-bench",
    "vm": {"name": "vm-bench"},
    "mbus": "https://mbus:secret@0.0.0.0:6868",
    "ntp": ["0.pool.ntp.org"],
    "blobstore": {"provider": "local", "options": {"blobstore_path": "/var/vcap/data"}},
    "networks": {
        "default": {
            "type": "manual",
            "ip": "10.0.0.5",
            "netmask": "255.255.255.0",
            "gateway": "10.0.0.1",
            "dns": ["8.8.8.8"],
            "default": ["dns", "gateway"],
            "mac": "00:50:56:3f:12:34",
        }
    },
    "disks": {"system": "0", "ephemeral": "1", "persistent": {}},
    "env": {"bosh": {"password": "$6$salted"}},
}


@dataclass(frozen=True, slots=True)
class Primitives:
    sparse_seconds: float
    sparse_host_bytes: int
    iso_seconds: float
    vmx_seconds: float
    convert_mb_s: float
    qemu_mb_s: float | None  # None: qemu-img is not installed
    same_content: bool | None  # qemu-img compare of both outputs (None: no qemu-img)

    @property
    def qemu_ratio(self) -> float | None:
        return None if self.qemu_mb_s is None else self.convert_mb_s / self.qemu_mb_s


def sparse_disk(work: Path, runs: int) -> tuple[float, int]:
    path = work / "sparse-100g.vmdk"

    def create() -> None:
        with open(path, "wb") as handle:
            vmdk.create_sparse(handle, 100 * GIB)

    took = median_seconds(create, runs)
    return took, os.stat(path).st_blocks * 512


def vmx_edit() -> None:
    vmx = Vmx.parse(LARGE_VMX.read_bytes())
    vmx.set("displayName", "bench/0")
    vmx.set("memsize", "4096")
    vmx.dumps()


class DiskContent:
    """Deterministic disk data that compresses like an OS image: half noise, half text (~2:1)."""

    def __init__(self, size: int) -> None:
        self._left, self._random = size, random.Random(20240607)
        self._text = b"Lorem ipsum /var/vcap/packages libc.so.6 ELF\x7f\x00\x01 " * 1024

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        half = size // 2
        self._left -= size
        return self._random.randbytes(half) + self._text[: size - half].ljust(size - half, b"x")


def stream_input(cache: Path) -> Path:
    """``.bench/stream-1g.vmdk``: 1 GiB of ``DiskContent`` as streamOptimized, built once."""
    path = cache / "stream-1g.vmdk"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with open(partial, "wb") as dst:
            write_stream_optimized(DiskContent(GIB), dst, GIB)  # type: ignore[arg-type]
        partial.rename(path)
    return path


def convert(source: Path, work: Path, runs: int) -> float:
    def run() -> None:
        with open(source, "rb") as src, open(work / "converted.vmdk", "w+b") as dst:
            convert_stream_optimized(src, dst)

    return GIB / 1e6 / median_seconds(run, runs)


def qemu_convert(source: Path, work: Path, runs: int) -> float | None:
    qemu = shutil.which("qemu-img")
    if qemu is None:
        return None
    argv = [
        qemu,
        "convert",
        "-O",
        "vmdk",
        "-o",
        "subformat=monolithicSparse",
        str(source),
        str(work / "qemu.vmdk"),
    ]
    return GIB / 1e6 / median_seconds(lambda: subprocess.run(argv, check=True, capture_output=True), runs)


def measure(cache: Path, work: Path, runs: int) -> Primitives:
    work.mkdir(parents=True, exist_ok=True)
    sparse, host_bytes = sparse_disk(work, max(runs, 5))
    source = stream_input(cache)
    return Primitives(
        sparse,
        host_bytes,
        median_seconds(lambda: settings_iso(SETTINGS), 20),
        median_seconds(vmx_edit, 50),
        convert(source, work, runs),
        qemu_convert(source, work, runs),
        same_content(work),
    )


def same_content(work: Path) -> bool | None:
    qemu = shutil.which("qemu-img")
    if qemu is None:
        return None
    argv = [qemu, "compare", str(work / "converted.vmdk"), str(work / "qemu.vmdk")]
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0
