"""The reference's own test fixtures (``src/bosh-vmrun-cpi/test/fixtures``, copied to fixtures/reference)."""

from __future__ import annotations

from pathlib import Path

from tests.reference.conftest import NETWORKS, ReferenceCpi, reference_fixture_image
from toolkit.formats.iso import read_settings_iso
from vmtk_sim import AgentStatus, Product

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reference"


def test_its_fixture_ovf_imports_although_its_manifest_names_other_files(tmp_path: Path) -> None:
    """image.mf lists test.ovf/test.vmdk; its ``driver_test.go`` imports image.ovf on VMware and expects success."""
    reference = ReferenceCpi(tmp_path, Product.PLAYER, human_names=False)
    stemcell = reference.call("create_stemcell", str(reference_fixture_image(tmp_path)), {})
    vm = reference.call("create_vm", "agent-f", stemcell, {"disk": 0}, NETWORKS, [], {})
    disk = reference.store / f"vm-{vm}" / f"vm-{vm}-disk1.vmdk"  # ovftool VMX -> VMX, as driver_test.go expects
    assert disk.stat().st_size == 65536  # the size driver_test.go measured on VMware for this fixture's clone
    assert reference.wait_for_agent(f"vm-{vm}") is AgentStatus.RUNNING


def test_its_fixture_env_iso_reads_as_the_agent_reads_it(tmp_path: Path) -> None:
    settings = read_settings_iso((FIXTURES / "env.iso").read_bytes())
    assert settings["agent_id"] and isinstance(settings["disks"], dict)
