"""``vmtk sim``: the simulator's state directory."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Vmtk
from tests.cli.expect import assert_error, assert_ok
from vmtk_sim import SimHost


def test_up_writes_knobs_and_prints_how_to_use_it(vmtk: Vmtk, tmp_path: Path) -> None:
    home = tmp_path / "simhome"
    out = assert_ok(
        vmtk("sim", "up", "--home", str(home), "--product", "player", "--boot-delay", "0", "--latency", "start=0.5")
    ).stdout
    knobs = json.loads((home / "sim.json").read_text())
    assert knobs == {"product": "player", "boot_delay": 0.0, "latency": {"start": 0.5}}
    assert f"VMRUN_SIM_HOME={home}" in out and "VMTK_VMRUN=" in out


def test_up_switches_the_simulated_mbus_agent_on_and_off(vmtk: Vmtk, tmp_path: Path) -> None:
    home = tmp_path / "simhome"
    assert_ok(vmtk("sim", "up", "--home", str(home), "--mbus-agent"))
    assert json.loads((home / "sim.json").read_text()) == {"mbus_agent": True}
    assert_ok(vmtk("sim", "up", "--home", str(home), "--boot-delay", "1"))  # other knobs leave it alone
    assert json.loads((home / "sim.json").read_text()) == {"mbus_agent": True, "boot_delay": 1.0}
    assert_ok(vmtk("sim", "up", "--home", str(home), "--no-mbus-agent"))
    assert json.loads((home / "sim.json").read_text())["mbus_agent"] is False


def test_up_names_a_real_bosh_agent_binary(vmtk: Vmtk, tmp_path: Path) -> None:
    home, binary = tmp_path / "simhome", tmp_path / "bosh-agent"
    binary.write_bytes(b"")
    assert_ok(vmtk("sim", "up", "--home", str(home), "--mbus-agent", "--bosh-agent", str(binary)))
    assert json.loads((home / "sim.json").read_text()) == {"mbus_agent": True, "bosh_agent": str(binary)}
    missing = vmtk("sim", "up", "--home", str(home), "--bosh-agent", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def test_up_takes_the_home_from_vmrun_sim_home(vmtk: Vmtk, tmp_path: Path) -> None:
    home = tmp_path / "from-env"
    assert_ok(vmtk("sim", "up", env={"VMRUN_SIM_HOME": str(home)}))
    assert (home / "sim.json").exists()


def test_up_rejects_a_bad_latency(vmtk: Vmtk, tmp_path: Path) -> None:
    result = vmtk("sim", "up", "--home", str(tmp_path / "h"), "--latency", "start")
    assert result.exit_code == 2 and "VERB=SECONDS" in result.stderr


def test_status_shows_power_tools_and_agent(vmtk: Vmtk, sim: SimHost, running_vmx: str, vmx: str) -> None:
    sim.clock.advance(5)
    rows = json.loads(assert_ok(vmtk("sim", "status", "--home", str(sim.home.root), "--json")).stdout)
    mine = next(r for r in rows if r["vmx"] == running_vmx)
    assert mine["power"] == "running" and mine["tools"] == "running"
    # No settings CD-ROM: the simulated agent refuses to start and says why.
    assert mine["agent"] == "failed" and mine["reason"]
    text = assert_ok(vmtk("sim", "status", "--home", str(sim.home.root))).stdout
    assert text.splitlines()[0].split()[:4] == ["VMX", "POWER", "TOOLS", "AGENT"]


def test_reset_forgets_state_but_keeps_knobs(vmtk: Vmtk, sim: SimHost, running_vmx: str) -> None:
    home = str(sim.home.root)
    assert_ok(vmtk("sim", "reset", "--home", home, "--yes"))
    assert json.loads(assert_ok(vmtk("sim", "status", "--home", home, "--json")).stdout) == []
    assert (sim.home.root / "sim.json").exists()
    assert_ok(vmtk("sim", "reset", "--home", home, "--yes", "--knobs"))
    assert not (sim.home.root / "sim.json").exists()


def test_reset_asks_first(vmtk: Vmtk, sim: SimHost, running_vmx: str) -> None:
    result = vmtk("sim", "reset", "--home", str(sim.home.root), input="n\n")
    assert result.exit_code == 1
    assert (sim.home.root / "state.json").exists()


def test_up_in_an_impossible_home_is_one_error_line_naming_it(vmtk: Vmtk, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert_error(vmtk("sim", "up", "--home", str(blocker / "home")), str(blocker / "home"), "check the path")
    assert blocker.read_text() == "x"


def test_minus_vv_still_shows_the_traceback_of_a_host_file_error(vmtk: Vmtk, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = vmtk("-vv", "sim", "up", "--home", str(blocker / "home"))
    assert result.exit_code == 1 and "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("Error: ")


def test_status_of_an_impossible_home_is_one_error_line(vmtk: Vmtk, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert_error(vmtk("sim", "status", "--home", str(blocker / "home")), str(blocker / "home"))
    assert blocker.read_text() == "x"


def test_reset_refuses_a_directory_the_simulator_did_not_make(vmtk: Vmtk, tmp_path: Path) -> None:
    precious = tmp_path / "mine"
    (precious / "src").mkdir(parents=True)
    (precious / "notes.txt").write_text("keep me")
    assert_error(vmtk("sim", "reset", "--home", str(precious), "--yes"), "does not look like a simulator home")
    assert (precious / "notes.txt").read_text() == "keep me" and (precious / "src").is_dir()


def test_up_refuses_a_home_whose_parent_is_missing(vmtk: Vmtk, tmp_path: Path) -> None:
    assert_error(
        vmtk("sim", "up", "--home", str(tmp_path / "none" / "deep" / "sim")),
        str(tmp_path / "none" / "deep"),
        "does not exist",
    )
    assert not (tmp_path / "none").exists()
