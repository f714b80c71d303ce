"""The ONE place that turns a ``CpiConfig`` into runner, Vmrun, stores and the ``Cloud``.

Tests substitute the host here: ``build_cloud(config, runner=SimHost(...).runner(),
clock=FakeClock())``. The request's cpi-config properties, if any, choose the
host first (``cpi.context``). Building runs no program; it is done only once the
request's arguments are valid, so a request that fails validation costs
nothing. With ``ssh_tunnel`` configured the runner is an ``SshRunner`` to the
VMware host, connected while building (a host that is down fails the call
before anything started), and stemcell images go through ``cpi.images``
(imported on the host once per content hash); otherwise a ``LocalRunner``.
"""

from __future__ import annotations

from cpi.attachments import Attachments
from cpi.cloud import Cloud
from cpi.config import CpiConfig
from cpi.context import for_request
from cpi.disks import Disks
from cpi.errors import step
from cpi.power import Power
from cpi.protocol import Request
from cpi.stemcells import Stemcells
from cpi.store import Store
from cpi.vms import Vms
from toolkit.host.clock import Clock, SystemClock
from toolkit.host.runner import LocalRunner, Runner
from toolkit.vmware.vmrun import HostType, Vmrun


def build_cloud(
    config: CpiConfig,
    request: Request | None = None,
    *,
    runner: Runner | None = None,
    clock: Clock | None = None,
) -> Cloud:
    if request is not None:
        config = for_request(config, request.context)  # a cpi-config entry's host, store and settings
    clock = clock or SystemClock()
    runner = runner or _connected(config, clock)
    store = Store(runner, config.vm_store_path, lock_timeout=config.lock_timeout_seconds)
    vmrun = Vmrun(
        runner,
        binary=config.vmrun_bin_path,
        clock=clock,
        timeout=config.vmrun_timeout_seconds,
        host_type=HostType(config.host_type) if config.host_type else None,
    )
    power = Power(
        vmrun,
        clock,
        start_wait=config.vm_start_max_wait_seconds,
        soft_stop_wait=config.vm_soft_shutdown_max_wait_seconds,
    )
    ovftool = _ovftool(config, runner, clock)
    stemcells = Stemcells(store, ovftool=ovftool, images=_images(config, store, vmrun, ovftool))
    disks = Disks(store, vmrun=vmrun, vdiskmanager=_vdiskmanager(config, runner, clock))
    vms = Vms(
        store,
        stemcells,
        disks,
        vmrun,
        power,
        config.agent,
        clock=clock,
        human_names=config.enable_human_readable_name,
    )
    return Cloud(stemcells, vms, disks, Attachments(store, vms, disks, power))


def host_runner(config: CpiConfig, clock: Clock) -> Runner:
    if config.ssh_tunnel is None:
        return LocalRunner(clock=clock)
    from toolkit.host.ssh.runner import SshRunner  # paramiko: only for a remote VMware host

    return SshRunner(config.ssh_tunnel, clock=clock)


def _connected(config: CpiConfig, clock: Clock) -> Runner:
    """The host's runner, connected before anything is done on the host.

    A host that cannot be reached then fails the call before any operation has
    started: nothing to clean up, the host named, and ``ok_to_retry`` (it may be back soon).
    """
    if config.ssh_tunnel is None:
        return LocalRunner(clock=clock)
    from toolkit.host.ssh.runner import SshRunner

    target = config.ssh_tunnel
    runner = SshRunner(target, clock=clock)
    with step(f"Connecting to the VMware host {target.host}:{target.port}"):
        runner.connect()
    return runner


def _images(config: CpiConfig, store: Store, vmrun: Vmrun, ovftool):  # type: ignore[no-untyped-def]
    if config.ssh_tunnel is None:
        return None  # a local host reads the image in place: nothing to upload
    from cpi.images import ImageCache

    return ImageCache(store, vmrun, ovftool=ovftool)


def _ovftool(config: CpiConfig, runner: Runner, clock: Clock):  # type: ignore[no-untyped-def]
    if not config.ovftool_bin_path:
        return None  # the toolkit's ovftool-free import
    from toolkit.vmware.ovftool import Ovftool

    return Ovftool(runner, config.ovftool_bin_path, clock)


def _vdiskmanager(config: CpiConfig, runner: Runner, clock: Clock):  # type: ignore[no-untyped-def]
    if not config.vdiskmanager_bin_path:
        return None  # pure-Python grow
    from toolkit.vmware.vdiskmanager import VDiskManager

    return VDiskManager(runner, config.vdiskmanager_bin_path, clock)
