"""cpi.context: the cpi-config properties a director merges into a request's context, applied to the job's config."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from cpi.config import CpiConfig
from cpi.context import for_request
from cpi.errors import CpiError, translate
from toolkit.errors import ConfigError

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END OPENSSH PRIVATE KEY-----\n"
PIN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJobsHostKey"
JOB = {
    "cloud": {
        "properties": {
            "agent": {"mbus": "nats://nats:secret@10.0.0.6:4222", "ntp": ["0.pool.ntp.org"]},
            "vmrun": {
                "vm_store_path": "/srv/job-vms",
                "vmrun_bin_path": "/usr/bin/vmrun",
                "vmrun_timeout_seconds": 77,
                "ssh_tunnel": {"host": "10.0.0.1", "username": "job", "private_key": KEY, "host_public_key": PIN},
            },
        }
    }
}
DIRECTOR = {"director_uuid": "d-1", "request_id": "cpi-123456", "vm": {"stemcell": {"api_version": 3}}}


@pytest.fixture
def job() -> CpiConfig:
    return CpiConfig.from_mapping(JOB)


def test_a_context_without_cpi_config_properties_leaves_the_config_as_it_is(job: CpiConfig) -> None:
    assert for_request(job, DIRECTOR) is job
    assert for_request(job, {**DIRECTOR, "some_future_director_key": {"x": 1}}) is job


def test_each_key_given_replaces_the_jobs_and_the_others_stay(job: CpiConfig) -> None:
    tunnel = {"host": "192.168.1.22", "port": 2222, "username": "bosh", "private_key": KEY, "platform": "darwin"}
    context = {**DIRECTOR, "vmrun": {"vm_store_path": "/Users/bosh/BOSH VMs", "ssh_tunnel": tunnel}}
    config = for_request(job, context)
    assert config.vm_store_path == "/Users/bosh/BOSH VMs" and config.vmrun_bin_path == "/usr/bin/vmrun"
    assert config.vmrun_timeout_seconds == 77 and config.agent == job.agent
    assert config.ssh_tunnel is not None and (config.ssh_tunnel.host, config.ssh_tunnel.port) == ("192.168.1.22", 2222)
    # The tunnel is one host's: the job's pinned key is not carried over to another host.
    assert config.ssh_tunnel.host_public_key is None and config.ssh_tunnel.username == "bosh"


def test_a_null_tunnel_makes_the_host_the_directors_own(job: CpiConfig) -> None:
    assert for_request(job, {"vmrun": {"ssh_tunnel": None}}).ssh_tunnel is None


def test_agent_keys_override_one_by_one(job: CpiConfig) -> None:
    config = for_request(job, {"agent": {"ntp": ["time.example.net"]}})
    assert config.agent.ntp == ("time.example.net",) and config.agent.mbus == job.agent.mbus


@pytest.mark.parametrize(
    ("properties", "says"),
    [
        ({"vmrun": {"vm_store_path": 7}}, ["context.vmrun.vm_store_path must be a string"]),
        ({"vmrun": {"host_type": "esx"}}, ["context.vmrun.host_type must be one of ws, fusion, player"]),
        ({"vmrun": {"lock_timeout_seconds": 0}}, ["context.vmrun.lock_timeout_seconds must be a positive number"]),
        ({"vmrun": {"ssh_tunnel": {"host": "h"}}}, ["context.vmrun.ssh_tunnel.username", "ssh_tunnel.private_key"]),
        (
            {"vmrun": {"ssh_tunnel": {**JOB["cloud"]["properties"]["vmrun"]["ssh_tunnel"], "pin": PIN}}},
            ["context.vmrun.ssh_tunnel.pin is not a property of this CPI"],
        ),
        ({"agent": {"mbus": None}}, ["context.agent.mbus is required"]),
        ({"agent": {"blobstore": "dav"}}, ["context.agent.blobstore must be an object"]),
        ({"vmrun": ["not", "an", "object"]}, ["context.vmrun must be an object"]),
        (
            {"ssh_tunnel": {"host": "h"}, "ntp": []},
            ["context.ssh_tunnel is not read at the top level: put it under 'vmrun'", "put it under 'agent'"],
        ),
    ],
)
def test_a_wrong_property_is_one_cpi_error_naming_each_key(
    job: CpiConfig, properties: dict[str, Any], says: list[str]
) -> None:
    with pytest.raises((ConfigError, CpiError)) as caught:
        for_request(job, {**DIRECTOR, **properties})
    failure = translate(caught.value)
    assert failure.bosh_type == "Bosh::Clouds::CpiError" and failure.ok_to_retry is False
    assert all(text in failure.message for text in says), failure.message


def test_a_problem_from_the_jobs_own_key_names_the_jobs_key(job: CpiConfig) -> None:
    """A Windows tunnel from the context makes the job's POSIX store path wrong: the message says whose key it is."""
    tunnel = {"host": "10.0.0.9", "username": "bosh", "private_key": KEY, "platform": "windows"}
    with pytest.raises(ConfigError) as caught:
        for_request(job, {"vmrun": {"ssh_tunnel": tunnel}})
    assert "cloud.properties.vmrun.vm_store_path must be an absolute path" in str(caught.value)
    assert "with this request's cpi-config properties" in str(caught.value)


def test_only_key_names_are_logged(job: CpiConfig, caplog: pytest.LogCaptureFixture) -> None:
    tunnel = {"host": "10.0.0.9", "username": "bosh", "private_key": KEY, "host_public_key": PIN}
    with caplog.at_level(logging.DEBUG):
        for_request(job, {"vmrun": {"ssh_tunnel": tunnel, "vm_store_path": "/srv/other"}})
        with pytest.raises(ConfigError):
            for_request(job, {"vmrun": {"ssh_tunnel": {**tunnel, "port": "x"}}})
    assert "vmrun.ssh_tunnel, vmrun.vm_store_path" in caplog.text
    assert "c2VjcmV0LWtleS1tYXRlcmlhbA" not in caplog.text and "/srv/other" not in caplog.text
