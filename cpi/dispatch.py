"""Request bytes in, one ``Response`` out: the explicit method table and argument binding.

Each BOSH method has one adapter below that turns JSON arguments into typed
values and shapes the result for the request's API version (v2: ``create_vm``
answers ``[cid, networks]``, ``attach_disk`` the disk hint). Arity is checked
with ``inspect.signature(...).bind`` so a wrong call names the argument. Errors:
unknown method -> NotImplemented; malformed JSON or arguments -> CpiError;
anything else -> ``cpi.errors.translate``. ``info`` never builds the cloud, so
it starts no program and loads no driver. This module must not touch the host.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from cpi import arguments as arg
from cpi.cloud import Cloud
from cpi.errors import (
    CpiError,
    CpiFailure,
    MethodNotImplemented,
    NotSupported,
    VmCreationFailed,
    chain,
    is_transient,
    render,
    translate,
)
from cpi.ids import DiskCid, SnapshotCid, StemcellCid, VmCid
from cpi.protocol import ApiVersion, Request, Response
from toolkit.host.interrupts import Interrupted, disarm

if TYPE_CHECKING:
    from cpi.vms import Vms

log = logging.getLogger(__name__)

API_VERSION = 2
STEMCELL_FORMATS = ("vsphere-ovf", "vsphere-ova", "general-ovf")
# Loggers whose INFO records also go into the response ``log`` (bosh task --cpi).
_LOG_SOURCES = ("cpi", "toolkit")
Handler = Callable[..., Any]
# An unknown method name is echoed in the error and the log; the request may carry megabytes of it.
SHOWN_CHARS = 80


def info() -> dict[str, Any]:
    return {"api_version": API_VERSION, "stemcell_formats": list(STEMCELL_FORMATS)}


def dispatch(raw: bytes | str, build: Callable[[Request], Cloud]) -> Response:
    """Answer one request; never raises for anything the request or the host did."""
    with _captured() as lines:
        result, error = _answer(raw, build)
    return Response(result=result, error=error, log="".join(lines))


def _answer(raw: bytes | str, build: Callable[[Request], Cloud]) -> tuple[Any, CpiFailure | None]:
    request: Request | None = None
    try:
        request = Request.parse(raw)
        log.info("%s request_id=%s api_version=%d", shown(request.method), request.request_id, request.api_version)
        result = _call(request, build)
        disarm()  # done: a signal now must not turn the answer (a new CID) into an error
        return result, None
    except Exception as exc:
        error = translate(exc)
        method = shown(request.method) if request else "request"
        log.error("%s failed: %s (%s)", method, render(exc), error.bosh_type, exc_info=_with_trace(exc))
        return None, error


def _call(request: Request, build: Callable[[Request], Cloud]) -> Any:
    """Check the method and its arguments BEFORE building anything, then run it."""
    if request.method == "info":
        return info(*_bind(info, request.arguments, request.method).args)
    if request.method in _UNSUPPORTED:
        raise NotSupported(f"Method '{request.method}' is not supported by this CPI")
    function = METHODS.get(request.method)
    if function is None:
        raise MethodNotImplemented(f"Must call implemented method: Unknown method '{shown(request.method)}'")
    bound = _bind(function, (None, *request.arguments), request.method)
    adapters = _Adapters(lambda: build(request), request.api_version, request.stemcell_api_version)
    return function(adapters, *bound.args[1:])


def shown(name: str) -> str:
    """A method name as echoed in messages and logs: any length arrives, at most SHOWN_CHARS go out."""
    return name if len(name) <= SHOWN_CHARS else name[:SHOWN_CHARS] + "…"


def _bind(function: Handler, arguments: tuple[Any, ...], method: str) -> inspect.BoundArguments:
    try:
        return inspect.signature(function).bind(*arguments)
    except TypeError as exc:
        raise CpiError(f"Wrong arguments for '{method}': {exc}") from None


def _with_trace(exc: BaseException) -> bool:
    # Bad requests and interrupts explain themselves; a traceback helps only for real failures.
    if any(isinstance(link, Interrupted) for link in chain(exc)):
        return False
    return not isinstance(exc, (CpiError, MethodNotImplemented, NotSupported))


_UNSUPPORTED = frozenset({"configure_networks"})


class _Adapters:
    """One adapter per BOSH method: JSON arguments -> typed call -> JSON result.

    Arguments are parsed (CIDs validated) BEFORE the cloud is built, so a bad
    request never reaches the host.
    """

    def __init__(self, build: Callable[[], Cloud], api: ApiVersion, stemcell_api: int = 1) -> None:
        self._build = build
        self._cloud: Cloud | None = None
        self.api = api
        # CPI API v2 answers the disk hint, and a caller whose stemcell speaks API v2 or later
        # hands it to the agent (add_persistent_disk): then the settings CD-ROM stays without
        # persistent disks (docs/bosh.md, "Persistent disks and the agent's settings").
        self.hint_to_caller = api is ApiVersion.V2 and stemcell_api >= 2

    @property
    def cloud(self) -> Cloud:
        if self._cloud is None:
            self._cloud = self._build()
        return self._cloud

    def create_stemcell(self, image_path: object, cloud_properties: object, env: object = None) -> str:
        path, props = arg.text(image_path, "image_path"), arg.mapping(cloud_properties, "cloud_properties")
        return str(self.cloud.stemcells.create(path, props))

    def delete_stemcell(self, stemcell_cid: object) -> None:
        cid = arg.cid(StemcellCid, stemcell_cid, "stemcell_cid")
        self.cloud.stemcells.delete(cid)

    def create_vm(
        self,
        agent_id: object,
        stemcell_cid: object,
        cloud_properties: object,
        networks: object,
        disk_cids: object = None,
        environment: object = None,
    ) -> Any:
        agent = arg.text(agent_id, "agent_id")
        stemcell = arg.cid(StemcellCid, stemcell_cid, "stemcell_cid")
        props, nets = arg.mapping(cloud_properties, "cloud_properties"), arg.mapping(networks, "networks")
        disks, env = arg.cid_list(DiskCid, disk_cids, "disk_cids"), arg.mapping(environment, "environment")
        created = self._vms_for(agent).create(
            agent_id=agent,
            stemcell=stemcell,
            cloud_properties=props,
            networks=nets,
            disk_cids=disks,
            env=env,
        )
        return [str(created.cid), created.networks] if self.api is ApiVersion.V2 else str(created.cid)

    def _vms_for(self, agent: str) -> Vms:
        """The host's VMs; a host that cannot be reached now fails create_vm as the director can retry it."""
        try:
            return self.cloud.vms
        except Exception as exc:
            if not is_transient(exc):
                raise
            # Nothing was created: the director's own create_vm retries apply (VMCreationFailed, ok_to_retry).
            raise VmCreationFailed(f"Creating VM for agent '{agent}'", ok_to_retry=True) from exc

    def delete_vm(self, vm_cid: object) -> None:
        cid = arg.cid(VmCid, vm_cid, "vm_cid")
        self.cloud.vms.delete(cid)

    def has_vm(self, vm_cid: object) -> bool:
        cid = arg.cid(VmCid, vm_cid, "vm_cid")
        return self.cloud.vms.exists(cid)

    def reboot_vm(self, vm_cid: object) -> None:
        cid = arg.cid(VmCid, vm_cid, "vm_cid")
        self.cloud.vms.reboot(cid)

    def set_vm_metadata(self, vm_cid: object, metadata: object) -> None:
        cid, values = arg.cid(VmCid, vm_cid, "vm_cid"), arg.mapping(metadata, "metadata")
        self.cloud.vms.set_metadata(cid, values)

    def calculate_vm_cloud_properties(self, vm_resources: object) -> dict[str, int]:
        from cpi.vm_properties import calculate

        return calculate(arg.mapping(vm_resources, "vm_resources", allow_null=False))

    def create_disk(self, size: object, cloud_properties: object, vm_cid: object = None) -> str:
        size_mb = arg.integer(size, "size", minimum=1)
        props = arg.mapping(cloud_properties, "cloud_properties")
        vm = arg.optional_cid(VmCid, vm_cid, "vm_cid")
        return str(self.cloud.disks.create(size_mb, props, vm))

    def delete_disk(self, disk_cid: object) -> None:
        cid = arg.cid(DiskCid, disk_cid, "disk_cid")
        self.cloud.disks.delete(cid)

    def has_disk(self, disk_cid: object) -> bool:
        cid = arg.cid(DiskCid, disk_cid, "disk_cid")
        return self.cloud.disks.exists(cid)

    def set_disk_metadata(self, disk_cid: object, metadata: object) -> None:
        cid, values = arg.cid(DiskCid, disk_cid, "disk_cid"), arg.mapping(metadata, "metadata")
        self.cloud.disks.set_metadata(cid, values)

    def resize_disk(self, disk_cid: object, new_size: object) -> None:
        cid, size_mb = arg.cid(DiskCid, disk_cid, "disk_cid"), arg.integer(new_size, "new_size", minimum=1)
        self.cloud.disks.resize(cid, size_mb)

    def update_disk(self, disk_cid: object, new_size: object, cloud_properties: object) -> None:
        cid, size_mb = arg.cid(DiskCid, disk_cid, "disk_cid"), arg.integer(new_size, "new_size", minimum=1)
        self.cloud.disks.update(cid, size_mb, arg.mapping(cloud_properties, "cloud_properties"))

    def snapshot_disk(self, disk_cid: object, metadata: object = None) -> str:
        cid, values = arg.cid(DiskCid, disk_cid, "disk_cid"), arg.mapping(metadata, "metadata")
        return str(self.cloud.disks.snapshot(cid, values))

    def delete_snapshot(self, snapshot_cid: object) -> None:
        cid = arg.cid(SnapshotCid, snapshot_cid, "snapshot_cid")
        self.cloud.disks.delete_snapshot(cid)

    def attach_disk(self, vm_cid: object, disk_cid: object) -> str | None:
        vm, disk = arg.cid(VmCid, vm_cid, "vm_cid"), arg.cid(DiskCid, disk_cid, "disk_cid")
        hint = self.cloud.attachments.attach(vm, disk, on_settings=not self.hint_to_caller)
        return hint if self.api is ApiVersion.V2 else None

    def detach_disk(self, vm_cid: object, disk_cid: object) -> None:
        vm, disk = arg.cid(VmCid, vm_cid, "vm_cid"), arg.cid(DiskCid, disk_cid, "disk_cid")
        self.cloud.attachments.detach(vm, disk)

    def get_disks(self, vm_cid: object) -> list[str]:
        cid = arg.cid(VmCid, vm_cid, "vm_cid")
        return [str(d) for d in self.cloud.attachments.disks_of(cid)]


# The method table: BOSH method name -> adapter (``info`` needs no cloud).
METHODS: Mapping[str, Handler] = {
    "create_stemcell": _Adapters.create_stemcell,
    "delete_stemcell": _Adapters.delete_stemcell,
    "create_vm": _Adapters.create_vm,
    "delete_vm": _Adapters.delete_vm,
    "has_vm": _Adapters.has_vm,
    "reboot_vm": _Adapters.reboot_vm,
    "set_vm_metadata": _Adapters.set_vm_metadata,
    "calculate_vm_cloud_properties": _Adapters.calculate_vm_cloud_properties,
    "create_disk": _Adapters.create_disk,
    "delete_disk": _Adapters.delete_disk,
    "has_disk": _Adapters.has_disk,
    "set_disk_metadata": _Adapters.set_disk_metadata,
    "resize_disk": _Adapters.resize_disk,
    "update_disk": _Adapters.update_disk,
    "snapshot_disk": _Adapters.snapshot_disk,
    "delete_snapshot": _Adapters.delete_snapshot,
    "attach_disk": _Adapters.attach_disk,
    "detach_disk": _Adapters.detach_disk,
    "get_disks": _Adapters.get_disks,
}


class _LogLines(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.INFO)
        self.lines = lines
        # Requests served in parallel threads (tests) keep their own lines.
        self._thread = threading.get_ident()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self._thread

    def emit(self, record: logging.LogRecord) -> None:
        # The response travels on stdout into the Director's task log: the message
        # (which renders the whole cause chain) goes there, tracebacks only to stderr.
        bare = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None})
        self.lines.append(self.format(bare) + "\n")


@contextmanager
def _captured() -> Iterator[list[str]]:
    """Collect INFO+ records of the CPI and toolkit for the response ``log``."""
    lines: list[str] = []
    handler = _LogLines(lines)
    loggers = [logging.getLogger(name) for name in _LOG_SOURCES]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
