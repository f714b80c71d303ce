"""Where the lifecycle suite runs: the real-host variant is skipped unless configured, and cleans up after itself;
the exe variant runs every CPI method through ``bosh-vmrun-cpi``.

The real-host path is exercised here with ``vmrun-sim`` standing in for vmrun
(a real process on the real clock), so its plumbing (LocalRunner, SystemClock,
stemcell import, needs_sim skips, teardown) is tested without VMware. The exe
variant's subset is run in a child pytest whose CPI processes' logs must show
every CPI method served.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cpi.dispatch import METHODS
from tests.cpi.client import Cpi
from tests.cpi.exe import methods_answered, one_json_object
from tests.cpi.hosts import (
    NOT_CONFIGURED,
    RealHost,
    RealSettings,
    SimulatorOnly,
    exe_installed,
    remove_everything,
    stemcell_image,
)

pytestmark = pytest.mark.slow  # minutes of real processes: make test runs it, make test-fast does not

ROOT = Path(__file__).resolve().parents[2]
STEMCELL_DIR = ROOT / "fixtures" / "stemcell"
TARBALL = STEMCELL_DIR / "bosh-stemcell-0.0.1-vsphere-esxi-ubuntu-jammy-go_agent.tgz"
VMRUN_SIM = Path(sys.executable).with_name("vmrun-sim")
CHEAP = "test_deleting_things_that_do_not_exist or test_things_that_do_not_exist_cost_no_vmrun_run or test_v1_shapes"
# The ssh and exe variants are not what these tests are about: they count the sim and real ones.
NOT_SSH = "not ssh and not exe"
LIFECYCLE = ("tests/cpi/test_lifecycle.py",)
BOTH_MODULES = (*LIFECYCLE, "tests/cpi/test_lifecycle_disks.py")


def lifecycle(
    *args: str, env: dict[str, str], modules: tuple[str, ...] = LIFECYCLE
) -> subprocess.CompletedProcess[str]:
    """pytest on the lifecycle module(s) in a child process, with exactly ``env``'s VMTK_REAL_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VMTK_REAL_", "PYTEST_"))}
    argv = [sys.executable, "-m", "pytest", *modules, "-p", "no:cacheprovider", "-rs", *args]
    return subprocess.run(argv, check=False, cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=600)


@pytest.mark.real_process
def test_without_the_environment_the_real_variant_is_reported_skipped() -> None:
    collected = lifecycle("--collect-only", "-q", "-k", "test_v1_shapes", env={})
    assert "test_v1_shapes_cid_only_and_no_hint[sim]" in collected.stdout
    assert "test_v1_shapes_cid_only_and_no_hint[real]" in collected.stdout
    assert "test_v1_shapes_cid_only_and_no_hint[ssh]" in collected.stdout
    assert "test_v1_shapes_cid_only_and_no_hint[exe]" in collected.stdout
    ran = lifecycle(
        "-q", "-k", f"test_v1_shapes and {NOT_SSH}", env={"VMTK_REAL_VMRUN": str(VMRUN_SIM)}
    )  # one of two is not enough
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 passed, 1 skipped" in ran.stdout and "SKIPPED [1] " in ran.stdout
    assert NOT_CONFIGURED in ran.stdout


@pytest.mark.real_process
@pytest.mark.skipif(not VMRUN_SIM.exists() or not TARBALL.exists(), reason="needs vmrun-sim and the fixture stemcell")
def test_configured_real_variant_runs_skips_needs_sim_and_leaves_nothing(tmp_path: Path) -> None:
    home, store = tmp_path / "home", tmp_path / "store"
    env = {
        "VMTK_REAL_VMRUN": str(VMRUN_SIM),
        "VMTK_REAL_STEMCELL": str(TARBALL),
        "VMTK_REAL_STORE": str(store),
        "VMRUN_SIM_HOME": str(home),
    }
    ran = lifecycle("-q", "-k", f"({CHEAP}) and {NOT_SSH}", env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "5 passed, 1 skipped" in ran.stdout, ran.stdout
    assert "simulator only: counts vmrun runs" in ran.stdout
    assert list(store.iterdir()) == []  # each test's store went with its VMs
    listed = subprocess.run(
        [str(VMRUN_SIM), "list"],
        env={**os.environ, "VMRUN_SIM_HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.splitlines()[0] == "Total running VMs: 0"


@pytest.mark.real_process
@pytest.mark.skipif(not exe_installed(), reason="needs the bosh-vmrun-cpi and vmrun-sim console scripts")
def test_the_exe_variant_serves_every_cpi_method_through_the_executable(tmp_path: Path) -> None:
    basetemp = tmp_path / "child"
    ran = lifecycle("-q", "-k", "exe", "--basetemp", str(basetemp), env={}, modules=BOTH_MODULES)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "22 passed, 13 skipped" in ran.stdout, ran.stdout
    assert "not through the executable: test_" in ran.stdout  # each skip names what covers it there
    logs = "".join(log.read_text(encoding="utf-8", errors="replace") for log in basetemp.rglob("cpi.log"))
    assert set(METHODS) | {"info"} <= methods_answered(logs), sorted(set(METHODS) - methods_answered(logs))


@pytest.mark.real_process
def test_k_real_and_k_exe_each_select_their_own_variant_only() -> None:
    """real_process on the exe variant is not a -k keyword: ``-k real`` is the real host alone."""
    for name in ("real", "exe"):
        collected = lifecycle("--collect-only", "-q", "-k", name, env={}, modules=BOTH_MODULES)
        ids = [line for line in collected.stdout.splitlines() if "::" in line]
        assert ids and all(f"[{name}" in line for line in ids), collected.stdout


def test_stdout_must_be_exactly_one_json_object_on_one_line() -> None:
    answer = b'{"result": null, "error": null, "log": ""}'
    assert one_json_object(answer + b"\n") == {"result": None, "error": None, "log": ""}
    for bad in (answer, answer + b"\n" + answer + b"\n", b"log line\n" + answer + b"\n", b'{"result": 1}\n', b"[]\n"):
        with pytest.raises(AssertionError):
            one_json_object(bad)


def test_methods_answered_are_read_from_the_dispatchers_lines_without_failures() -> None:
    log = (
        "2026-11-25 10:00:00,000 INFO 7 cpi.dispatch: has_vm request_id=cpi-1 api_version=2\n"
        "2026-11-25 10:00:01,000 INFO 8 cpi.dispatch: delete_vm request_id=cpi-1 api_version=2\n"
        "2026-11-25 10:00:01,000 ERROR 8 cpi.dispatch: delete_vm failed: VM 'x' not found (Bosh::Clouds::VMNotFound)\n"
        "2026-11-25 10:00:02,000 INFO 9 cpi.dispatch: info request_id= api_version=1\n"
    )
    assert methods_answered(log) == {"has_vm", "info"}


def test_teardown_stops_and_deletes_what_a_failed_test_left(make_cpi: Callable[..., Cpi]) -> None:
    cpi = make_cpi()
    stemcell = cpi.new_stemcell()
    first, _ = cpi.create_vm(stemcell)
    second, _ = cpi.create_vm(stemcell, agent="agent-2")
    disk = cpi("create_disk", 1024, {}, second)
    cpi("attach_disk", second, disk)
    cpi("delete_stemcell", stemcell)  # only marked: clones still use it
    assert cpi.is_running(first) and cpi.is_running(second)
    remove_everything(cpi)
    assert not cpi.store.exists()
    assert cpi.vmrun().list_running() == []


def test_teardown_of_a_test_that_made_nothing_is_a_no_op(make_cpi: Callable[..., Cpi]) -> None:
    cpi = make_cpi()
    remove_everything(cpi)
    assert not cpi.store.exists() and cpi.host.calls() == []


def test_real_settings_need_both_vmrun_and_a_stemcell() -> None:
    assert RealSettings.from_env({}) is None
    assert RealSettings.from_env({"VMTK_REAL_VMRUN": "/usr/bin/vmrun"}) is None
    assert RealSettings.from_env({"VMTK_REAL_STEMCELL": "/s.tgz"}) is None
    settings = RealSettings.from_env({"VMTK_REAL_VMRUN": "/usr/bin/vmrun", "VMTK_REAL_STEMCELL": "/s.tgz"})
    assert settings == RealSettings(
        vmrun="/usr/bin/vmrun", stemcell="/s.tgz", host_type=None, store=None, network="vmnet8"
    )


def test_real_settings_optional_values() -> None:
    settings = RealSettings.from_env(
        {
            "VMTK_REAL_VMRUN": "/v",
            "VMTK_REAL_STEMCELL": "/s",
            "VMTK_REAL_HOST_TYPE": "fusion",
            "VMTK_REAL_STORE": "/vms",
            "VMTK_REAL_NETWORK": "vmnet2",
        }
    )
    assert settings is not None
    assert (settings.host_type, settings.store, settings.network) == ("fusion", "/vms", "vmnet2")


@pytest.mark.skipif(not TARBALL.exists(), reason="fixtures/stemcell not generated")
def test_a_stemcell_tarball_is_unpacked_to_its_image_and_a_bare_image_used_as_it_is(tmp_path: Path) -> None:
    image = stemcell_image(str(TARBALL), tmp_path)
    assert Path(image).name == "image" and Path(image).is_relative_to(tmp_path)
    assert Path(image).read_bytes() == (STEMCELL_DIR / "image").read_bytes()
    assert stemcell_image(str(STEMCELL_DIR / "image"), tmp_path / "unused") == str(STEMCELL_DIR / "image")


@pytest.mark.parametrize("power", ["calls", "configure", "make_vm", "vm"])
def test_a_real_host_refuses_simulator_powers(power: str) -> None:
    with pytest.raises(SimulatorOnly, match="needs_sim"):
        getattr(RealHost(), power)("anything")
