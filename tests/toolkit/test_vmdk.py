from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import DiskError, HostFileNotFound
from toolkit.formats import vmdk, vmdkformat
from toolkit.formats.streamvmdk import convert_stream_optimized, write_stream_optimized
from toolkit.host.runner import LocalRunner

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reference"
MiB = 1 << 20
GiB = 1 << 30
GRAIN = vmdkformat.GRAIN_SECTORS * vmdkformat.SECTOR
needs_qemu = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img not installed")
needs_qemu_io = pytest.mark.skipif(shutil.which("qemu-io") is None, reason="qemu-io not installed")


def raw_content(f: BinaryIO, limit: int | None = None) -> bytes:
    """The virtual disk's first ``limit`` bytes, read through the grain tables."""
    capacity = min(vmdk.info(f).capacity_bytes, limit or 1 << 62)
    out = bytearray(-(-capacity // GRAIN) * GRAIN)
    for grain, sector in vmdk.allocated_grains(f):
        if grain * GRAIN < capacity:
            out[grain * GRAIN : (grain + 1) * GRAIN] = vmdkformat.read_at(f, sector * vmdkformat.SECTOR, GRAIN)
    return bytes(out[:capacity])


def sparse_from_raw(raw: bytes) -> io.BytesIO:
    """A monolithicSparse disk holding ``raw``, built through the stream writer and converter."""
    stream, disk = io.BytesIO(), io.BytesIO()
    write_stream_optimized(io.BytesIO(raw), stream, len(raw))
    stream.seek(0)
    convert_stream_optimized(stream, disk)
    return disk


def qemu(*args: str) -> str:
    done = LocalRunner().run(["qemu-img", *args], timeout=120)
    assert done.exit_code == 0, done.stdout + done.stderr
    return done.stdout


def test_a_100_gib_disk_is_created_in_well_under_a_second_and_a_few_mib(tmp_path: Path) -> None:
    path = tmp_path / "big.vmdk"
    started = time.monotonic()
    with path.open("w+b") as f:
        vmdk.create_sparse(f, 100 * GiB, name="big.vmdk")
    assert time.monotonic() - started < 1.0
    assert path.stat().st_blocks * 512 < 20 * MiB
    with path.open("rb") as f:
        assert vmdk.info(f) == vmdk.DiskInfo(100 * GiB, "monolithicSparse", "lsilogic", None, 0)


def test_the_embedded_descriptor_says_what_vmware_writes() -> None:
    f = io.BytesIO()
    vmdk.create_sparse(f, 3 * GiB, adapter="ide", name="data.vmdk", cid=0x1234ABCD)
    header = vmdk.read_header(f)
    text = "\n".join(vmdk.read_descriptor(f, header).lines)
    assert (header.version, header.grain_size, header.gtes_per_gt, header.descriptor_offset) == (1, 128, 512, 1)
    assert 'createType="monolithicSparse"' in text and "CID=1234abcd" in text
    assert 'RW 6291456 SPARSE "data.vmdk"' in text and 'ddb.adapterType = "ide"' in text
    assert 'ddb.geometry.cylinders = "6241"' in text and 'ddb.virtualHWVersion = "4"' in text


def test_small_scsi_disks_get_the_geometry_vmware_gave_its_own_1_mib_disk() -> None:
    assert vmdkformat.geometry(2048, "lsilogic") == (1, 64, 32)  # fixtures/reference/image.vmdk


@pytest.mark.parametrize("size", [0, -512, 64 * 1024 * GiB + 1])
def test_create_refuses_a_size_that_is_not_positive_or_beyond_64_tib(size: int) -> None:
    with pytest.raises(DiskError):
        vmdk.create_sparse(io.BytesIO(), size)


def test_create_refuses_an_unknown_adapter() -> None:
    with pytest.raises(DiskError, match="nvme"):
        vmdk.create_sparse(io.BytesIO(), MiB, adapter="nvme")


@pytest.mark.real_process
@needs_qemu
@pytest.mark.parametrize(
    ("size", "adapter"), [(MiB, "lsilogic"), (10 * MiB + 512, "ide"), (3 * GiB, "buslogic"), (100 * GiB, "lsilogic")]
)
def test_qemu_img_finds_created_disks_clean_and_of_the_right_size(tmp_path: Path, size: int, adapter: str) -> None:
    path = tmp_path / "d.vmdk"
    with path.open("w+b") as f:
        vmdk.create_sparse(f, size, adapter=adapter, name="d.vmdk")
    qemu("check", str(path))
    found = json.loads(qemu("info", "--output=json", str(path)))
    assert (found["virtual-size"], found["format"]) == (size, "vmdk")
    assert found["format-specific"]["data"]["create-type"] == "monolithicSparse"


def test_info_reads_a_stream_optimized_disk_written_by_vmware() -> None:
    with (FIXTURES / "image.vmdk").open("rb") as f:
        assert vmdk.info(f) == vmdk.DiskInfo(MiB, "streamOptimized", "lsilogic", None, 0)


def test_info_reads_a_text_descriptor_with_a_parent(tmp_path: Path) -> None:
    text = (
        '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=12345678\ncreateType="twoGbMaxExtentSparse"\n'
        'parentFileNameHint="C:\\vms\\base\\base.vmdk"\n\n# Extent description\n'
        'RW 8323072 SPARSE "x-s001.vmdk"\nRW 65536 SPARSE "x-s002.vmdk"\n\n#DDB\nddb.adapterType = "lsilogic"\n'
    )
    with io.BytesIO(text.encode()) as f:
        found = vmdk.info(f)
    assert found == vmdk.DiskInfo(
        (8323072 + 65536) * 512, "twoGbMaxExtentSparse", "lsilogic", "C:\\vms\\base\\base.vmdk", None
    )


@pytest.mark.parametrize("data", [b"", b"not a disk at all" * 100, (FIXTURES / "image.ovf").read_bytes()])
def test_info_rejects_files_that_are_not_disks_with_vdiskmanagers_phrase(data: bytes) -> None:
    with pytest.raises(DiskError, match="The specified file is not a virtual disk"):
        vmdk.info(io.BytesIO(data))


def test_a_header_claiming_an_absurd_capacity_is_not_a_disk() -> None:
    disk = io.BytesIO()
    vmdk.create_sparse(disk, MiB)
    vmdkformat.write_at(disk, 12, (1 << 60).to_bytes(8, "little"))  # the capacity field
    with pytest.raises(DiskError, match="not a virtual disk"):
        vmdk.info(disk)


def test_info_counts_only_grains_that_hold_data() -> None:
    raw = bytes(GRAIN) + b"\x01" * GRAIN + bytes(5 * GRAIN) + b"\x02" * 10
    assert vmdk.info(sparse_from_raw(raw)).allocated_bytes == 2 * GRAIN


@settings(max_examples=20, deadline=None)
@given(
    grains=st.dictionaries(st.integers(0, 600), st.binary(min_size=1, max_size=64), max_size=8),
    extra_mb=st.integers(0, 300),
)
def test_growing_keeps_every_byte_and_reads_zeros_beyond(grains: dict[int, bytes], extra_mb: int) -> None:
    raw = bytearray(601 * GRAIN)  # two grain tables: 512 grains each
    for grain, data in grains.items():
        raw[grain * GRAIN : grain * GRAIN + len(data)] = data
    disk = sparse_from_raw(bytes(raw))
    allocated = vmdk.info(disk).allocated_bytes
    vmdk.grow_sparse(disk, len(raw) + extra_mb * MiB)
    assert vmdk.info(disk) == vmdk.DiskInfo(len(raw) + extra_mb * MiB, "monolithicSparse", "lsilogic", None, allocated)
    assert raw_content(disk, len(raw) + MiB) == bytes(raw) + bytes(min(extra_mb, 1) * MiB)


def test_growing_updates_extent_line_and_geometry() -> None:
    disk = io.BytesIO()
    vmdk.create_sparse(disk, 10 * MiB, name="g.vmdk")
    vmdk.grow_sparse(disk, 40 * GiB)
    lines = vmdk.read_descriptor(disk, vmdk.read_header(disk)).lines
    assert 'RW 83886080 SPARSE "g.vmdk"' in lines and 'ddb.geometry.cylinders = "5221"' in lines
    assert 'ddb.geometry.heads = "255"' in lines and 'ddb.geometry.sectors = "63"' in lines


def test_growing_refuses_to_shrink_and_to_touch_stream_optimized_disks() -> None:
    disk = io.BytesIO()
    vmdk.create_sparse(disk, 20 * MiB)
    before = disk.getvalue()
    with pytest.raises(DiskError, match="shrink"):
        vmdk.grow_sparse(disk, 10 * MiB)
    assert disk.getvalue() == before
    with pytest.raises(DiskError, match="streamOptimized"):
        vmdk.grow_sparse(io.BytesIO((FIXTURES / "image.vmdk").read_bytes()), 2 * MiB)


@pytest.mark.real_process
@needs_qemu
@needs_qemu_io
def test_a_disk_grown_across_grain_tables_stays_clean_for_qemu(tmp_path: Path) -> None:
    path = tmp_path / "q.vmdk"
    qemu("create", "-f", "vmdk", "-o", "adapter_type=lsilogic,subformat=monolithicSparse", str(path), "40M")
    io_run = ["qemu-io", "-c", "write -P 0xab 0 1M", "-c", "write -P 0x5c 39M 64k", str(path)]
    assert LocalRunner().run(io_run, timeout=60).exit_code == 0
    before = tmp_path / "before.raw"
    qemu("convert", "-O", "raw", str(path), str(before))
    with path.open("r+b") as f:
        vmdk.grow_sparse(f, 50 * GiB)
    qemu("check", str(path))
    assert json.loads(qemu("info", "--output=json", str(path)))["virtual-size"] == 50 * GiB
    with path.open("rb") as f:
        assert raw_content(f, 40 * MiB) == before.read_bytes()
    late = ["qemu-io", "-c", "write -P 0x22 45G 1M", "-c", "read -P 0x22 45G 1M", "-c", "read -P 0xab 0 1M", str(path)]
    done = LocalRunner().run(late, timeout=60)
    assert done.exit_code == 0 and "Pattern verification failed" not in done.stdout
    qemu("check", str(path))


def test_create_disk_writes_a_disk_named_after_its_path_and_never_overwrites(tmp_path: Path) -> None:
    runner, path = LocalRunner(), str(tmp_path / "persistent.vmdk")
    vmdk.create_disk(runner, path, 2048)
    with open(path, "rb") as f:
        assert vmdk.info(f).capacity_bytes == 2 * GiB
        assert any('"persistent.vmdk"' in line for line in vmdk.read_descriptor(f, vmdk.read_header(f)).lines)
    with pytest.raises(DiskError, match="already exists"):
        vmdk.create_disk(runner, path, 4096)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["persistent.vmdk"]


def test_grow_disk_keeps_data_and_leaves_the_disk_untouched_when_refused(tmp_path: Path) -> None:
    raw = b"\x07" * GRAIN + bytes(GRAIN) + b"data" * 100
    path = tmp_path / "d.vmdk"
    path.write_bytes(sparse_from_raw(raw.ljust(4 * MiB, b"\0")).getvalue())
    vmdk.grow_disk(LocalRunner(), str(path), 4096)
    with path.open("rb") as f:
        assert vmdk.info(f).capacity_bytes == 4 * GiB
        assert raw_content(f, len(raw)) == raw
    before = path.read_bytes()
    with pytest.raises(DiskError, match="shrink"):
        vmdk.grow_disk(LocalRunner(), str(path), 1024)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.vmdk"]


def test_grow_disk_keeps_the_copy_sparse(tmp_path: Path) -> None:
    path = str(tmp_path / "big.vmdk")
    vmdk.create_disk(LocalRunner(), path, 100 * 1024)
    vmdk.grow_disk(LocalRunner(), path, 400 * 1024)
    assert Path(path).stat().st_blocks * 512 < 20 * MiB


def test_grow_disk_of_a_missing_file_is_a_host_file_error(tmp_path: Path) -> None:
    with pytest.raises(HostFileNotFound):
        vmdk.grow_disk(LocalRunner(), str(tmp_path / "missing.vmdk"), 10)
