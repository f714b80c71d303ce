from __future__ import annotations

import io
import json
import os
import random
import shutil
import struct
import threading
import tracemalloc
import zlib
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import DiskError
from toolkit.formats import vmdk, vmdkformat
from toolkit.formats.streamvmdk import convert_stream_optimized, write_stream_optimized
from toolkit.host.runner import LocalRunner

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
MiB = 1 << 20
GRAIN = vmdkformat.GRAIN_SECTORS * vmdkformat.SECTOR
needs_qemu = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img not installed")


class ShortReads:
    """A non-seekable source that hands out at most ``step`` bytes per read, like a pipe."""

    def __init__(self, data: bytes, step: int = 1000) -> None:
        self._data = memoryview(data)
        self._step = step
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        size = self._step if size < 0 else min(size, self._step)
        chunk = bytes(self._data[self._pos : self._pos + size])
        self._pos += len(chunk)
        return chunk


def stream_of(raw: bytes, capacity: int | None = None) -> bytes:
    out = io.BytesIO()
    write_stream_optimized(io.BytesIO(raw), out, capacity or len(raw))
    return out.getvalue()


def raw_content(f: BinaryIO) -> bytes:
    capacity = vmdk.info(f).capacity_bytes
    out = bytearray(-(-capacity // GRAIN) * GRAIN)
    for grain, sector in vmdk.allocated_grains(f):
        out[grain * GRAIN : (grain + 1) * GRAIN] = vmdkformat.read_at(f, sector * vmdkformat.SECTOR, GRAIN)
    return bytes(out[:capacity])


def qemu(*args: str) -> str:
    done = LocalRunner().run(["qemu-img", *args], timeout=120)
    assert done.exit_code == 0, done.stdout + done.stderr
    return done.stdout


def test_the_disk_vmware_wrote_converts_to_an_empty_monolithic_sparse_disk() -> None:
    seen: list[int] = []
    out = io.BytesIO()
    with (FIXTURES / "image.vmdk").open("rb") as src:
        convert_stream_optimized(src, out, progress=seen.append, name="image.vmdk")
    assert vmdk.info(out) == vmdk.DiskInfo(MiB, "monolithicSparse", "lsilogic", None, 0)
    assert seen[-1] == 100


@settings(max_examples=25, deadline=None)
@given(
    grains=st.dictionaries(st.integers(0, 700), st.binary(min_size=1, max_size=300), max_size=10),
    tail=st.integers(0, GRAIN - 1),
    step=st.integers(97, 70000),
)
@pytest.mark.slow
def test_round_trip_through_a_pipe_keeps_content_and_leaves_zero_grains_unallocated(
    grains: dict[int, bytes], tail: int, step: int
) -> None:
    raw = bytearray(700 * GRAIN + tail + 1)  # not a whole number of grains, spans two grain tables
    for grain, data in grains.items():
        raw[grain * GRAIN : grain * GRAIN + len(data)] = data
    out = io.BytesIO()
    convert_stream_optimized(ShortReads(stream_of(bytes(raw)), step), out)
    padded = bytes(raw).ljust(-(-len(raw) // 512) * 512, b"\0")
    assert raw_content(out) == padded
    assert {grain for grain, _ in vmdk.allocated_grains(out)} == {g for g, data in grains.items() if any(data)}


def test_progress_climbs_to_100_in_order() -> None:
    raw = b"".join(bytes([i + 1]) * GRAIN for i in range(40))
    seen: list[int] = []
    convert_stream_optimized(io.BytesIO(stream_of(raw)), io.BytesIO(), progress=seen.append)
    assert seen == sorted(set(seen)) and seen[0] == 0 and seen[-1] == 100 and len(seen) > 10


def test_a_real_pipe_works_and_memory_stays_flat_while_converting(tmp_path: Path) -> None:
    raw = random.Random(7).randbytes(24 * MiB)
    source = tmp_path / "in.vmdk"
    source.write_bytes(stream_of(raw))
    read_end, write_end = os.pipe()
    feeder = threading.Thread(target=_feed, args=(source, write_end), daemon=True)
    feeder.start()
    with os.fdopen(read_end, "rb", buffering=0) as pipe, (tmp_path / "out.vmdk").open("w+b") as out:
        tracemalloc.start()
        convert_stream_optimized(pipe, out)  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        feeder.join()
        assert raw_content(out) == raw
    assert peak < 2 * MiB


def _feed(path: Path, fd: int) -> None:
    with path.open("rb") as src, os.fdopen(fd, "wb") as pipe:
        shutil.copyfileobj(src, pipe, 256 * 1024)


def test_a_stream_that_stops_early_is_a_disk_error() -> None:
    data = stream_of(b"\x01" * 3 * GRAIN)
    with pytest.raises(DiskError, match="truncated"):
        convert_stream_optimized(io.BytesIO(data[: len(data) - 1024]), io.BytesIO())


def test_a_monolithic_sparse_disk_is_not_a_stream() -> None:
    disk = io.BytesIO()
    vmdk.create_sparse(disk, MiB)
    disk.seek(0)
    with pytest.raises(DiskError, match="not a streamOptimized disk"):
        convert_stream_optimized(disk, io.BytesIO())


@pytest.mark.parametrize(
    ("lba", "payload", "message"),
    [
        (0, b"garbage!", "does not decompress"),
        (5, zlib.compress(b"x"), "misaligned"),
        (128 * 100, zlib.compress(b"x"), "beyond"),
        (0, zlib.compress(bytes(GRAIN + 1)), "inflates beyond"),
    ],
)
def test_damaged_grains_are_disk_errors(lba: int, payload: bytes, message: str) -> None:
    with pytest.raises(DiskError, match=message):
        convert_stream_optimized(io.BytesIO(with_grain_marker(lba, payload)), io.BytesIO())


def with_grain_marker(lba: int, payload: bytes) -> bytes:
    """A 4-grain all-zero stream with one extra grain marker before the others."""
    data = bytearray(stream_of(bytes(4 * GRAIN)))
    marker = struct.pack("<QI", lba, len(payload)) + payload
    at = vmdkformat.GRAIN_SECTORS * vmdkformat.SECTOR  # the first marker follows the 64 KiB prefix
    data[at:at] = marker.ljust(-(-len(marker) // 512) * 512, b"\0")
    return bytes(data)


def test_a_grain_of_zeros_in_the_stream_stays_unallocated() -> None:
    out = io.BytesIO()
    convert_stream_optimized(io.BytesIO(with_grain_marker(128, zlib.compress(bytes(GRAIN)))), out)
    assert vmdk.info(out).allocated_bytes == 0


def test_the_writer_reads_a_short_source_as_zeros() -> None:
    out = io.BytesIO()
    convert_stream_optimized(io.BytesIO(stream_of(b"abc", capacity=3 * MiB)), out)
    assert vmdk.info(out).capacity_bytes == 3 * MiB
    assert raw_content(out) == b"abc".ljust(3 * MiB, b"\0")


@pytest.mark.real_process
@needs_qemu
def test_qemu_img_agrees_with_both_directions(tmp_path: Path) -> None:
    rng = random.Random(3)
    raw = b"".join(rng.randbytes(GRAIN) if rng.random() < 0.4 else bytes(GRAIN) for _ in range(600)) + b"end"
    (tmp_path / "in.raw").write_bytes(raw)
    (tmp_path / "ours.vmdk").write_bytes(stream_of(raw))
    qemu("check", str(tmp_path / "ours.vmdk"))
    assert "identical" in qemu(
        "compare", "-f", "raw", "-F", "vmdk", str(tmp_path / "in.raw"), str(tmp_path / "ours.vmdk")
    )
    qemu(
        "convert",
        "-f",
        "raw",
        "-O",
        "vmdk",
        "-o",
        "subformat=streamOptimized",
        str(tmp_path / "in.raw"),
        str(tmp_path / "theirs.vmdk"),
    )
    with (tmp_path / "theirs.vmdk").open("rb") as src, (tmp_path / "conv.vmdk").open("w+b") as dst:
        convert_stream_optimized(src, dst, name="conv.vmdk")
    qemu("check", str(tmp_path / "conv.vmdk"))
    info = json.loads(qemu("info", "--output=json", str(tmp_path / "conv.vmdk")))
    assert info["format-specific"]["data"]["create-type"] == "monolithicSparse"
    assert "identical" in qemu(
        "compare", "-f", "raw", "-F", "vmdk", str(tmp_path / "in.raw"), str(tmp_path / "conv.vmdk")
    )
