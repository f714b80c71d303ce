"""docs/examples/multihost: the cpi-config, cloud-config and deployment of docs/bosh.md, checked as the CPI reads them.

The files must parse, fit together (every AZ's ``cpi`` is a cpi-config entry,
the deployment's AZs, types and network exist), and every entry's properties
must be ones the vmrun_cpi job declares and the CPI accepts from a request's
context (``cpi.context``), ``((variables))`` replaced by values of their kind.
With the bosh CLI (``BOSH_BIN`` or ``bosh`` on PATH) each file also goes
through ``bosh int``; without it that check is skipped, with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from cpi.config import VMRUN_KEYS, CpiConfig
from cpi.context import for_request
from toolkit.host.ssh.target import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "multihost"
FILES = ("cpi-config.yml", "cloud-config.yml", "deployment.yml")
SPEC = ROOT / "release" / "jobs" / "vmrun_cpi" / "spec"
VARIABLE = re.compile(r"\(\(([^()]+)\)\)")
# What a variable of each kind is set to when the example is read as the director would send it.
PLACEHOLDERS = {
    "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nplaceholder\n-----END OPENSSH PRIVATE KEY-----\n",
    "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlaceholder",
}
JOB_CONFIG = {
    "cloud": {
        "plugin": "vmrun",
        "properties": {
            "agent": {"mbus": "nats://nats:secret@10.0.0.6:4222", "ntp": ["0.pool.ntp.org"]},
            "vmrun": {
                "vm_store_path": "/var/vcap/store/unused",
                "vmrun_bin_path": "/usr/bin/vmrun",
                "enable_human_readable_name": True,
                "ssh_tunnel": {"host": "", "port": "22", "platform": "linux"},
            },
        },
    }
}


def load(name: str) -> Any:
    return yaml.safe_load((EXAMPLES / name).read_text())


def test_the_three_files_fit_together() -> None:
    cpis, cloud, deployment = (load(name) for name in FILES)
    names = [cpi["name"] for cpi in cpis["cpis"]]
    assert len(set(names)) == len(names) >= 2 and {cpi["type"] for cpi in cpis["cpis"]} == {"vmrun"}
    azs = {az["name"]: az["cpi"] for az in cloud["azs"]}
    assert sorted(azs.values()) == sorted(names), "one AZ per workstation"
    for subnet in (s for network in cloud["networks"] for s in network["subnets"]):
        assert set(subnet["azs"]) <= set(azs)
    assert cloud["compilation"]["az"] in azs
    kinds = {"vm_type": "vm_types", "persistent_disk_type": "disk_types"}
    for group in deployment["instance_groups"]:
        assert set(group["azs"]) == set(azs), "the deployment is spread over every workstation"
        assert group["instances"] >= len(azs)
        for key, section in kinds.items():
            assert group[key] in {item["name"] for item in cloud[section]}
        assert {n["name"] for n in group["networks"]} <= {n["name"] for n in cloud["networks"]}


def test_every_entry_is_what_the_job_declares_and_the_cpi_accepts() -> None:
    job = CpiConfig.from_mapping(JOB_CONFIG)
    declared = set(yaml.safe_load(SPEC.read_text())["properties"])
    for entry in load("cpi-config.yml")["cpis"]:
        properties = resolved(entry["properties"])
        assert set(leaves(properties)) <= declared, entry["name"]
        config = for_request(job, properties)  # CpiError naming the key if the CPI refuses any
        vmrun = properties["vmrun"]
        assert config.vm_store_path == vmrun["vm_store_path"] and config.vmrun_bin_path == vmrun["vmrun_bin_path"]
        assert config.ssh_tunnel is not None and config.ssh_tunnel.host == vmrun["ssh_tunnel"]["host"]
        assert config.ssh_tunnel.host_public_key == PLACEHOLDERS["host_key"]  # pinned, as the doc says to


def test_the_cpi_reads_exactly_the_vmrun_properties_the_job_declares() -> None:
    declared = set(yaml.safe_load(SPEC.read_text())["properties"])
    vmrun = {name.split(".")[1] for name in declared if name.startswith("vmrun.")}
    assert vmrun == set(VMRUN_KEYS)
    tunnel = {name.split(".")[2] for name in declared if name.startswith("vmrun.ssh_tunnel.")}
    assert tunnel <= SETTINGS


@pytest.mark.parametrize("name", FILES)
def test_bosh_int_reads_each_file(name: str, tmp_path: Path) -> None:
    bosh = os.environ.get("BOSH_BIN") or shutil.which("bosh")
    if not bosh:
        pytest.skip("no bosh CLI: set BOSH_BIN or put bosh on PATH")
    done = subprocess.run(
        [bosh, "int", str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout) == load(name)


def resolved(value: Any) -> Any:
    """``value`` with each ``((name))`` replaced by a placeholder of its kind (private key, host key)."""
    if isinstance(value, Mapping):
        return {key: resolved(item) for key, item in value.items()}
    if isinstance(value, str) and (found := VARIABLE.fullmatch(value)):
        kind = next(k for k in PLACEHOLDERS if found[1].endswith(k))
        return PLACEHOLDERS[kind]
    return value


def leaves(tree: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted property names, as a job spec declares them (``vmrun.ssh_tunnel.host``)."""
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"
