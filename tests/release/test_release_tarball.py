"""The built release tarball, unpacked and checked as the bosh CLI checks it."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from release.blobs import read_index
from release.build import INDEX, RELEASE_DIR, ROOT, Built, build
from release.tarballs import Entry, fingerprint
from tests.release.conftest import CACHE, extract

pytestmark = [pytest.mark.real_process, pytest.mark.slow]  # the build runs pip and git


def manifest(unpacked: Path) -> dict:
    return yaml.safe_load((unpacked / "release.MF").read_text())


def archive_entries(path: Path) -> list[Entry]:
    with tarfile.open(path) as tar:
        return [
            Entry(m.name.removeprefix("./"), tar.extractfile(m).read(), m.mode)  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        ]


def test_release_mf_names_version_and_git_state(built: Built, unpacked: Path) -> None:
    mf = manifest(unpacked)
    assert (mf["name"], mf["version"]) == ("bosh-vmrun-cpi", built.version)
    assert built.path.name == f"bosh-vmrun-cpi-{built.version}.tgz"
    assert isinstance(mf["uncommitted_changes"], bool) and len(mf["commit_hash"]) >= 7
    assert [j["name"] for j in mf["jobs"]] == ["vmrun_cpi"] and [p["name"] for p in mf["packages"]] == ["vmrun_cpi"]
    assert sorted(str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file()) == [
        "jobs/vmrun_cpi.tgz",
        "packages/vmrun_cpi.tgz",
        "release.MF",
    ]


def test_every_archive_matches_its_sha_and_fingerprint(unpacked: Path) -> None:
    mf = manifest(unpacked)
    for kind in ("jobs", "packages"):
        for record in mf[kind]:
            archive = unpacked / kind / f"{record['name']}.tgz"
            assert record["sha1"] == "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
            deps = record.get("dependencies", [])
            assert record["fingerprint"] == fingerprint(archive_entries(archive), deps) == record["version"]


def test_job_archive_holds_the_spec_as_job_mf_and_its_templates(unpacked: Path) -> None:
    files = {e.path: e.data for e in archive_entries(unpacked / "jobs" / "vmrun_cpi.tgz")}
    spec = yaml.safe_load(files["job.MF"])
    assert files["job.MF"] == (RELEASE_DIR / "jobs" / "vmrun_cpi" / "spec").read_bytes()
    assert sorted(files) == ["job.MF", "monit"] + [f"templates/{t}" for t in sorted(spec["templates"])]
    assert spec["templates"] == {"cpi.erb": "bin/cpi", "cpi.json.erb": "config/cpi.json"}
    assert manifest(unpacked)["jobs"][0]["packages"] == spec["packages"] == ["vmrun_cpi"]


def test_package_carries_the_pinned_wheels_and_the_built_ones(unpacked: Path) -> None:
    entries = {e.path: e for e in archive_entries(unpacked / "packages" / "vmrun_cpi.tgz")}
    assert entries["packaging"].mode == 0o755
    pinned = {b.path: b for b in read_index(INDEX.read_text()) if b.path.startswith("wheels/")}
    for path, blob in pinned.items():
        assert hashlib.sha256(entries[path].data).hexdigest() == blob.sha256
    built = sorted(set(entries) - set(pinned) - {"packaging"})
    assert [p.split("-")[0] for p in built] == ["wheels/PyYAML", "wheels/vmrun_toolkit"]
    # local mode needs nothing compiled: every non-SSH wheel is pure Python
    compiled = [p for p in entries if p.endswith(".whl") and "-none-any" not in p]
    assert {p.split("/")[1].split("-")[0] for p in compiled} == {"bcrypt", "cffi", "cryptography", "pynacl"}


def test_the_cpi_wheel_holds_only_what_bin_cpi_runs(unpacked: Path) -> None:
    # The release installs the CPI; the simulator, the harness, the CLI and their
    # commands (vmtk, vmrun-sim, the pytest plugin) stay out of it.
    entries = {e.path: e for e in archive_entries(unpacked / "packages" / "vmrun_cpi.tgz")}
    (name,) = [p for p in entries if p.startswith("wheels/vmrun_toolkit-")]
    with zipfile.ZipFile(io.BytesIO(entries[name].data)) as wheel:
        names = wheel.namelist()
        (points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        entry_points = wheel.read(points).decode()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"toolkit", "cpi"}
    assert "toolkit/guest_scripts/run-captured.sh" in names
    assert entry_points.split() == ["[console_scripts]", "bosh-vmrun-cpi", "=", "cpi.__main__:main"]


def test_same_commit_gives_the_same_bytes(tmp_path: Path) -> None:
    # A clone of HEAD: the shared working tree may change between two builds.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    first, second = build(tmp_path / "1", CACHE, root=clone), build(tmp_path / "2", CACHE, root=clone)
    assert first.path.read_bytes() == second.path.read_bytes() and first.sha1 == second.sha1
    mf = manifest(extract(first.path.read_bytes(), tmp_path / "x"))
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True, check=True
    )
    assert (mf["commit_hash"], mf["uncommitted_changes"]) == (head.stdout.strip(), False)


def test_archives_are_normalised(unpacked: Path) -> None:
    for archive in [unpacked / "jobs" / "vmrun_cpi.tgz", unpacked / "packages" / "vmrun_cpi.tgz"]:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
        assert [m.name for m in members] == sorted(m.name for m in members)
        assert {(m.mtime, m.uid, m.gid, m.uname) for m in members} == {(0, 0, 0, "")}


def test_main_prints_path_and_sha1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from release.build import main

    assert main(["--out", str(tmp_path), "--cache", str(CACHE), "--version", "9.9.9"]) == 0
    out = capsys.readouterr().out.splitlines()
    tarball = tmp_path / "bosh-vmrun-cpi-9.9.9.tgz"
    assert out[0] == str(tarball) and out[2] == f"sha1: {hashlib.sha1(tarball.read_bytes()).hexdigest()}"
    assert manifest(extract(tarball.read_bytes(), tmp_path / "x"))["version"] == "9.9.9"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]
