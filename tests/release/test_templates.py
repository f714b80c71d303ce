"""The job templates rendered with Ruby's ERB, as the bosh CLI and the Director render them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cpi.config import CpiConfig
from tests.release.conftest import render

pytestmark = pytest.mark.real_process  # ruby and bash -n run for real

MBUS = "https://mbus:mbus-Secret-31c4@0.0.0.0:6868"
LOCAL: dict[str, Any] = {
    "vmrun": {
        "vm_store_path": "/Users/me/vms",
        "vmrun_bin_path": "/Applications/VMware Fusion.app/Contents/Library/vmrun",
    },
    "agent": {"mbus": MBUS},
    "blobstore": {"provider": "local", "path": "/var/vcap/micro_bosh/data/cache"},
    "ntp": ["time1.google.com"],
}
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


def ssh_properties() -> dict[str, Any]:
    pytest.importorskip("paramiko")
    return {
        "vmrun": {
            "vm_store_path": "C:\\vms",
            "vmrun_bin_path": "C:\\Program Files (x86)\\VMware\\VMware Workstation\\vmrun.exe",
            "ssh_tunnel": {
                "host": "192.168.50.1",
                "username": "bosh",
                "private_key": KEY,
                "platform": "windows",
                "host_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0sh",
            },
        },
        "nats": {"password": "nats-Secret", "address": "10.0.0.6"},
        "blobstore": {"address": "10.0.0.6", "agent": {"user": "agent", "password": "blob-Secret"}},
    }


def test_local_cpi_json_parses_into_the_cpi_config(tmp_path: Path) -> None:
    config = CpiConfig.from_json(render("cpi.json.erb", LOCAL, tmp_path))
    assert config.vmrun_bin_path.endswith("Contents/Library/vmrun") and config.vm_store_path == "/Users/me/vms"
    assert config.ovftool_bin_path is None and config.ssh_tunnel is None
    assert config.agent.mbus == MBUS and config.agent.ntp == ("time1.google.com",)
    assert config.agent.blobstore == {
        "provider": "local",
        "options": {"blobstore_path": "/var/vcap/micro_bosh/data/cache"},
    }
    # the reference's defaults arrive through the job spec
    assert (config.vm_start_max_wait_seconds, config.vm_soft_shutdown_max_wait_seconds) == (600, 30)
    assert config.enable_human_readable_name is True


def test_ssh_cpi_json_carries_the_tunnel_and_pinned_host_key(tmp_path: Path) -> None:
    text = render("cpi.json.erb", ssh_properties(), tmp_path)
    tunnel = json.loads(text)["cloud"]["properties"]["vmrun"]["ssh_tunnel"]
    assert tunnel["port"] == "22" and tunnel["insecure_skip_host_key_check"] is False
    target = CpiConfig.from_json(text).ssh_tunnel
    assert target is not None and (target.host, target.port, target.platform.value) == ("192.168.50.1", 22, "windows")
    assert target.host_public_key == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0sh" and target.private_key == KEY


def test_mbus_from_nats_and_dav_blobstore_as_the_reference_renders_them(tmp_path: Path) -> None:
    agent = json.loads(render("cpi.json.erb", ssh_properties(), tmp_path))["cloud"]["properties"]["agent"]
    assert agent["mbus"] == "nats://nats:nats-Secret@10.0.0.6:4222"
    assert agent["blobstore"] == {
        "provider": "dav",
        "options": {"endpoint": "http://10.0.0.6:25250", "user": "agent", "password": "blob-Secret"},
    }
    assert agent["ntp"] == ["0.pool.ntp.org", "1.pool.ntp.org"]


def test_s3_blobstore_options_prefer_the_agent_keys(tmp_path: Path) -> None:
    props = {
        **LOCAL,
        "blobstore": {
            "provider": "s3",
            "bucket_name": "b",
            "access_key_id": "director-key",
            "secret_access_key": "s",
            "s3_region": "eu-west-1",
        },
        "agent": {"mbus": MBUS, "blobstore": {"access_key_id": "agent-key"}},
    }
    options = json.loads(render("cpi.json.erb", props, tmp_path))["cloud"]["properties"]["agent"]["blobstore"][
        "options"
    ]
    assert options == {
        "bucket_name": "b",
        "access_key_id": "agent-key",
        "secret_access_key": "s",
        "use_ssl": True,
        "port": 443,
        "s3_force_path_style": False,
        "region": "eu-west-1",
    }


def test_cpi_script_is_valid_bash_and_execs_the_venv_python(tmp_path: Path) -> None:
    script = render("cpi.erb", LOCAL, tmp_path)
    assert script.startswith("#!/bin/bash\n") and "export http" not in script
    assert 'exec "$python" -m cpi "$config"' in script
    path = tmp_path / "cpi"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True, check=False).returncode == 0


def test_proxies_are_exported_quoted_whatever_they_hold(tmp_path: Path) -> None:
    hostile = "http://u:p'w$(touch x)@proxy:3128"
    script = render("cpi.erb", {**LOCAL, "env": {"http_proxy": hostile, "no_proxy": "localhost,10.0.0.0/8"}}, tmp_path)
    path = tmp_path / "cpi"
    path.write_text(script.split("# `python -m cpi`")[0] + 'printf "%s\\n" "$http_proxy" "$NO_PROXY"\n')
    done = subprocess.run(["bash", str(path)], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert done.stdout.splitlines() == [hostile, "localhost,10.0.0.0/8"]
    assert not (tmp_path / "x").exists()
