"""Which persistent disks the settings CD-ROM announces, by CPI and stemcell API version.

With CPI API v2 and a stemcell of API v2 or later, ``attach_disk`` hands the
hint to the caller, who gives it to the agent (``add_persistent_disk``): the
CD-ROM then announces no persistent disk, so an agent restarted by the cold
attach never knows two disks mid-migration (docs/bosh.md, "Persistent disks and
what the settings CD-ROM carries"). Otherwise the CD-ROM is the agent's only
source and announces every attached disk.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cpi.client import Cpi, iso_settings

pytestmark = [
    pytest.mark.not_remote("the settings are chosen above the runner; test_lifecycle_disks attaches over SSH"),
    pytest.mark.not_spawned("the rule is in dispatch; test_lifecycle_disks attaches through the executable"),
]


@pytest.fixture
def cpi(make_host_cpi: Callable[..., Cpi]) -> Cpi:
    return make_host_cpi()


@pytest.mark.parametrize("stemcell_api", [2, 3])
def test_api_v2_with_a_v2_stemcell_returns_the_hint_and_leaves_the_cd_rom_without_it(
    cpi: Cpi, stemcell_api: int
) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    old, new = cpi("create_disk", 1024, {}, vm), cpi("create_disk", 2048, {}, vm)
    assert cpi("attach_disk", vm, old, stemcell_api=stemcell_api) == "2"
    assert cpi("attach_disk", vm, new, stemcell_api=stemcell_api) == "3"
    assert iso_settings(cpi, vm)["disks"]["persistent"] == {}  # mid-migration, the agent learns only from the caller
    assert sorted(cpi("get_disks", vm)) == sorted([old, new]) and cpi.is_running(vm)
    cpi("detach_disk", vm, old, stemcell_api=stemcell_api)
    assert cpi("get_disks", vm) == [new]


@pytest.mark.parametrize(("api_version", "stemcell_api", "answer"), [(1, 3, None), (2, 1, "2"), (2, None, "2")])
def test_otherwise_the_cd_rom_announces_the_disk(
    cpi: Cpi, api_version: int, stemcell_api: int | None, answer: str | None
) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 1024, {}, vm)
    assert cpi("attach_disk", vm, disk, api_version=api_version, stemcell_api=stemcell_api) == answer
    assert iso_settings(cpi, vm)["disks"]["persistent"] == {disk: "2"}
    cpi("detach_disk", vm, disk, api_version=api_version, stemcell_api=stemcell_api)
    assert iso_settings(cpi, vm)["disks"]["persistent"] == {}


@pytest.mark.needs_sim("counts vmrun runs")
def test_attaching_again_under_v2_withdraws_an_earlier_announcement(cpi: Cpi) -> None:
    vm, _ = cpi.create_vm(cpi.new_stemcell())
    disk = cpi("create_disk", 1024, {}, vm)
    cpi("attach_disk", vm, disk, api_version=1)
    assert iso_settings(cpi, vm)["disks"]["persistent"] == {disk: "2"}
    before = cpi.calls()
    assert cpi("attach_disk", vm, disk, stemcell_api=3) == "2"
    assert iso_settings(cpi, vm)["disks"]["persistent"] == {}
    assert cpi.calls() == before  # already attached: no restart, only the settings change
