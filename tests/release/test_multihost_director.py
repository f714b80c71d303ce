"""The release's ``bin/cpi`` as a director VM runs it, for two workstations of a cpi-config.

The compiled package and the rendered job (``tests.release.conftest``) are
mounted at ``/var/vcap`` in a private mount namespace, so ``bin/cpi`` runs with
its own defaults and nothing else: ``PATH=/usr/sbin:/usr/bin:/sbin:/bin`` and
``TMPDIR``, as bosh-director's ``external_cpi.rb`` starts it (``env -i``). The
job's properties are a director's (NATS mbus, dav blobstore, no usable host);
each request's context carries one workstation's cpi-config properties. Skipped
where mount namespaces are not allowed (not root, or no ``unshare``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cpi.client import ENV, MANUAL
from tests.release.conftest import install_job
from tests.support.sshd import secret_part
from tests.support.workstations import DIRECTOR_PATH, Director, Workstation, own_mounts_allowed, workstations

pytestmark = pytest.mark.real_process

NATS_SECRET = "nats-Secret-0b57"
DAV_SECRET = "dav-Secret-41e2"
# A director's vmrun_cpi job: its agent settings; its own vmrun host is never used.
JOB_PROPERTIES: dict[str, Any] = {
    "vmrun": {"vm_store_path": "/var/vcap/store/vmrun", "vmrun_bin_path": "/nonexistent/vmrun"},
    "nats": {"address": "10.0.0.6", "user": "nats", "password": NATS_SECRET},
    "blobstore": {"provider": "dav", "address": "10.0.0.6", "agent": {"user": "agent", "password": DAV_SECRET}},
    "ntp": ["0.pool.ntp.org"],
}
# In its own mount namespace: /var/vcap is the installation; then bin/cpi with the director's environment only.
ON_THE_DIRECTOR = (
    'mount -t tmpfs tmpfs /var && mkdir /var/vcap && mount --bind "$1" /var/vcap && '
    f'exec env -i PATH={DIRECTOR_PATH} TMPDIR="$2" /var/vcap/jobs/vmrun_cpi/bin/cpi'
)


@pytest.fixture
def stations(tmp_path: Path) -> Iterator[dict[str, Workstation]]:
    if not own_mounts_allowed():
        pytest.skip("mount namespaces are not allowed here (unshare --mount): /var/vcap cannot be simulated")
    with workstations(tmp_path, "ws-a", "ws-b") as started:
        yield started


def test_bin_cpi_in_the_directors_bare_environment_serves_each_workstation(
    installation: Path, stations: dict[str, Workstation], tmp_path: Path
) -> None:
    install_job(installation, JOB_PROPERTIES, tmp_path)
    tmpdir = tmp_path / "director-tmp"
    tmpdir.mkdir()
    command = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        ON_THE_DIRECTOR,
        "sh",
        str(installation),
        str(tmpdir),
    ]
    director = Director(
        installation / "jobs" / "vmrun_cpi" / "config" / "cpi.json",
        tmpdir,
        {name: station.properties() for name, station in stations.items()},
        command=command,
    )
    a, b = stations["ws-a"], stations["ws-b"]
    stemcell = b.make_stemcell()
    vm, _ = director("ws-b", "create_vm", "agent-b", stemcell, {}, MANUAL, [], ENV)
    assert b.vm_names() == [f"vm-{vm}"] and a.vm_names() == []
    assert director("ws-a", "has_vm", vm) is False and director("ws-b", "has_vm", vm) is True
    settings = (b.store / f"vm-{vm}" / "env.json").read_text()
    assert f"nats://nats:{NATS_SECRET}@10.0.0.6:4222" in settings  # the job's agent settings, the host's VM
    director("ws-b", "delete_vm", vm)
    assert b.vm_names() == [] and b.running() == []
    for text in director.logs:
        assert NATS_SECRET not in text and DAV_SECRET not in text
        assert all(secret_part(s.server.private_key) not in text for s in stations.values())
