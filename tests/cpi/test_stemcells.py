"""create_stemcell from a real vSphere stemcell image (runs once the stemcell importer has landed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cpi.conftest import MANUAL, Cpi
from vmtk_sim import AgentStatus

IMAGE = Path(__file__).resolve().parents[2] / "fixtures" / "stemcell" / "image"
STEMCELL_PROPS = {"name": "bosh-vsphere-esxi-ubuntu-jammy-go_agent", "version": "0.0.1", "disk": 5120}


@pytest.fixture
def image() -> Path:
    pytest.importorskip("toolkit.formats.stemcell")
    if not IMAGE.exists():
        pytest.skip("fixtures/stemcell/image not generated yet")
    return IMAGE


def test_create_stemcell_without_ovftool_runs_nothing_and_clones_boot(cpi: Cpi, image: Path) -> None:
    stemcell = cpi("create_stemcell", str(image), STEMCELL_PROPS)
    assert cpi.calls() == 0
    template = cpi.store / f"cs-{stemcell}"
    assert (template / f"cs-{stemcell}.vmx").exists() and (template / "stemcell.json").exists()
    vm, _ = cpi.create_vm(stemcell)
    assert cpi.host.vm(str(cpi.vmx(vm))).agent.status is AgentStatus.RUNNING
    cpi("delete_vm", vm)
    cpi("delete_stemcell", stemcell)
    assert not template.exists()


def test_create_stemcell_from_a_bad_image_leaves_nothing(cpi: Cpi, image: Path, tmp_path: Path) -> None:
    bad = tmp_path / "image"
    bad.write_bytes(b"not a tarball")
    error = cpi.error("create_stemcell", str(bad), STEMCELL_PROPS)
    assert error["type"] == "Bosh::Clouds::CloudError" and f"Importing stemcell image '{bad}'" in error["message"]
    assert not [p for p in cpi.store.iterdir() if p.name.startswith("cs-")] if cpi.store.exists() else True


def test_create_stemcell_tolerates_the_v3_tags_argument(cpi: Cpi, image: Path) -> None:
    stemcell = cpi("create_stemcell", str(image), STEMCELL_PROPS, {"tags": {"team": "x"}}, api_version=3)
    assert cpi("create_vm", "a", stemcell, {}, MANUAL, [], {})[0]
