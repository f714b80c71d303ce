"""The simulated ``ovftool``: ``--version`` and OVF/OVA -> VMX imports, as the real tool answers.

``run_ovftool(args, clock=..., on_output=...)`` parses ovftool's argv, reads
the package (``toolkit.formats.ovfpackage``: directory-less ``.ovf`` or ``.ova`` tar),
writes the ``.vmx`` (the simulator's own ``ovf_render``) and converts each disk to a
monolithicSparse ``<name>-disk<N>.vmdk`` next to it, printing the real message
sequence (``fixtures/outputs/ovftool``): ``Opening OVF source``, ``The manifest
validates``, ``Opening VMX target``, ``Writing VMX file``, CR-separated ``Disk
progress: N%``, the padded ``Transfer Completed``, ``Completed successfully``;
and the real failures, ``Error: ...`` + ``Completed with errors``, exit 1.
Strings tagged [I] in comments are inferred, not captured. Like the rest of
the simulator it touches the files it was given directly; fault injection,
latency and the call log belong to ``ovftool_call``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from toolkit.errors import DiskError, StemcellError
from toolkit.formats import vmdk
from toolkit.formats.ovf import OvfDisk, OvfSpec, parse_ovf
from toolkit.formats.ovfpackage import Package, open_package
from toolkit.formats.streamvmdk import convert_stream_optimized
from toolkit.host.clock import Clock
from toolkit.vmware.vmx import Vmx
from vmtk_sim import ovf_render, ovftool_vmx

VERSION = "VMware ovftool 4.6.3 (build-24031167)"
TRANSFER_COMPLETED = "Transfer Completed" + " " * 20  # overwrites the last "Disk progress: NN%" on a TTY
SUCCESS, FAILURE = "Completed successfully", "Completed with errors"
_FLAGS = {
    "--acceptAllEulas",
    "--allowExtraConfig",
    "--allowAllExtraConfig",
    "--lax",
    "--overwrite",
    "--skipManifestCheck",
    "--noSSLVerify",
    "--quiet",
    "--machineOutput",
    "--powerOffSource",
}
_VALUED = {
    "--name": "name",
    "-n": "name",
    "--sourceType": "source_type",
    "-st": "source_type",
    "--targetType": "target_type",
    "-tt": "target_type",
}
Output = Callable[[str], None]


class _Failed(Exception):
    """Ends the run with ``Error: <lines>`` + ``Completed with errors``."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0])
        self.lines = lines


@dataclass(slots=True)
class _Args:
    flags: set[str]
    options: dict[str, str]
    positional: list[str]


class _Console:
    """stdout as ovftool writes it, streamed to ``on_output`` as it goes."""

    def __init__(self, on_output: Output | None) -> None:
        self._on_output = on_output
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)
        if self._on_output is not None:
            self._on_output(text)

    def line(self, text: str) -> None:
        self.write(text + "\n")


def run_ovftool(args: Sequence[str], *, clock: Clock, on_output: Output | None = None) -> tuple[int, str, str]:
    """``(exit_code, stdout, stderr)`` of ``ovftool args``."""
    console = _Console(on_output)
    try:
        parsed = _parse(args)
        if "--version" in parsed.flags or "-v" in parsed.flags:
            console.line(VERSION)
            return 0, "".join(console.parts), ""
        _import(parsed, console, clock)
    except _Failed as failed:
        console.line(f"Error: {failed.lines[0]}")
        for detail in failed.lines[1:]:
            console.line(f" - {detail}")
        console.line(FAILURE)
        return 1, "".join(console.parts), ""
    console.line(SUCCESS)
    return 0, "".join(console.parts), ""


def _parse(args: Sequence[str]) -> _Args:
    parsed = _Args(set(), {}, [])
    for arg in args:
        if not arg.startswith("-") or arg == "-":
            parsed.positional.append(arg)
            continue
        key, _, value = arg.partition("=")
        if key in _VALUED:
            parsed.options[_VALUED[key]] = value
        elif key in _FLAGS or key in ("-v", "--version", "--help", "-h"):
            if value.lower() not in ("", "true"):
                continue  # "--lax=false"
            parsed.flags.add(key)
        else:
            raise _Failed(f"Unknown option: '{arg[:].lstrip('-').split('=')[0]}'")  # [I]
    return parsed


def _import(args: _Args, console: _Console, clock: Clock) -> None:
    if len(args.positional) != 2:
        raise _Failed("No target specified" if len(args.positional) == 1 else "No source specified")  # [I]
    source, target = args.positional
    if _vmx_source(source, args):
        _convert_vmx(args, source, target, console)
        return
    kind = "OVA" if source.lower().endswith(".ova") or args.options.get("source_type", "").upper() == "OVA" else "OVF"
    console.line(f"Opening {kind} source: {source}")
    package = _open(source, args)
    if package.manifest is not None and "--skipManifestCheck" not in args.flags:
        _validate(package, console)
    spec = _spec(package)
    vmx_path = _target(target, args.options.get("name") or spec.name)
    console.line(f"Opening VMX target: {target}")
    _check_family(spec, args, console)
    if os.path.exists(vmx_path) and "--overwrite" not in args.flags:
        raise _Failed(f"Target already exists: {os.path.basename(vmx_path)}")
    console.line(f"Writing VMX file: {vmx_path}")
    _write(package, spec, vmx_path, args.options.get("name") or spec.name, console)
    _manifest_warnings(package, spec, console)


def _vmx_source(source: str, args: _Args) -> bool:
    declared = args.options.get("source_type", "").upper()
    return declared == "VMX" or (not declared and source.lower().endswith(".vmx"))


def _convert_vmx(args: _Args, source: str, target: str, console: _Console) -> None:
    console.line(f"Opening VMX source: {source}")
    try:
        config = ovftool_vmx.read_source(source)
        name = args.options.get("name") or ovftool_vmx.default_name(source, config)
        vmx_path = _target(target, name)
        console.line(f"Opening VMX target: {target}")
        if os.path.exists(vmx_path) and "--overwrite" not in args.flags:
            raise _Failed(f"Target already exists: {os.path.basename(vmx_path)}")
        console.line(f"Writing VMX file: {vmx_path}")
        os.makedirs(os.path.dirname(vmx_path) or ".", exist_ok=True)
        ovftool_vmx.convert(source, config, vmx_path, name, _ProgressLine(console))
    except ovftool_vmx.VmxSourceError as exc:
        raise _Failed(*exc.lines) from exc
    console.write(TRANSFER_COMPLETED + "\n")


def _manifest_warnings(package: Package, spec: OvfSpec, console: _Console) -> None:
    """After the transfer, as in ``import-lax``: disks without a manifest entry, then a missing manifest."""
    listed = package.manifest or {}
    items = [
        f"No manifest entry found for: '{disk.file.href}'."
        for disk in spec.disks
        if disk.file is not None and disk.file.href not in listed
    ]
    if package.manifest is None:
        items.append("No manifest file found.")
    if items:
        console.line("\n".join(["Warning:", *(f" - {item}" for item in items)]))


def _open(source: str, args: _Args) -> Package:
    if not os.path.isfile(source):
        raise _Failed(f"Failed to open file: {source}")  # [I]
    try:
        package = open_package(source)
    except StemcellError as exc:
        if "digest does not match" in str(exc):
            raise _Failed("Invalid manifest and OVF file", str(exc)) from exc  # [I]
        raise _Failed(f"Failed to parse the OVF descriptor: {exc}") from exc  # [I]
    return package


def _validate(package: Package, console: _Console) -> None:
    """ovftool checks every manifest digest before it opens the target."""
    try:
        for name in sorted(package.manifest or {}):
            if name != package.ovf_name and package.has(name):  # an entry for an absent file: no check [I]
                with package.open(name):
                    pass  # closing the stream drains it and compares the digest
    except StemcellError as exc:
        console.line("The manifest does not validate")
        raise _Failed("Invalid manifest and OVF file", str(exc)) from exc  # [I]
    console.line("The manifest validates")


def _spec(package: Package) -> OvfSpec:
    try:
        return parse_ovf(package.descriptor)
    except StemcellError as exc:
        raise _Failed(f"Failed to parse the OVF descriptor: {exc}") from exc  # [I]


def _target(target: str, name: str) -> str:
    if target.lower().endswith(".vmx"):
        return target
    return os.path.join(target, name, f"{name}.vmx")  # a directory target gets <dir>/<name>/<name>.vmx


def _check_family(spec: OvfSpec, args: _Args, console: _Console) -> None:
    if spec.hardware_versions or not spec.system_types:
        return
    problem = f"Line {spec.system_type_line}: Unsupported hardware family '{' '.join(spec.system_types)}'."
    if "--lax" not in args.flags:
        raise _Failed("OVF Package is not supported by target:", problem)
    console.line(f"Warning:\n - {problem}")


def _write(package: Package, spec: OvfSpec, vmx_path: str, name: str, console: _Console) -> None:
    directory = os.path.dirname(vmx_path) or "."
    os.makedirs(directory, exist_ok=True)  # ovftool creates the target's missing parents
    prefix = os.path.basename(vmx_path).rsplit(".", 1)[0]
    progress = _ProgressLine(console)
    disks = [os.path.join(directory, f"{prefix}-disk{i}.vmdk") for i in range(1, len(spec.disks) + 1)]
    try:
        for disk, path in zip(spec.disks, disks, strict=True):
            _write_disk(package, disk, path, progress)
        with open(vmx_path, "wb") as handle:
            handle.write(_rendered(spec, name, prefix).dumps())
    except _Failed:
        for path in disks:  # a failed import leaves no target behind
            if os.path.exists(path):
                os.remove(path)
        raise
    console.write(TRANSFER_COMPLETED + "\n")


def _rendered(spec: OvfSpec, name: str, prefix: str) -> Vmx:
    try:
        return ovf_render.vmx_for(spec, name=name, prefix=prefix)
    except ovf_render.RenderError as exc:
        raise _Failed("OVF Package is not supported by target:", f"{exc}.") from exc  # [I] detail wording


class _ProgressLine:
    """``Disk progress: N%`` items, each ended by a carriage return, 1..99 and only on change."""

    def __init__(self, console: _Console) -> None:
        self._console = console
        self._last = 0

    def __call__(self, percent: int) -> None:
        percent = min(percent, 99)  # the last item before "Transfer Completed" reads 99%
        if percent > 0 and percent != self._last:
            self._last = percent
            self._console.write(f"Disk progress: {percent}%\r")


def _write_disk(package: Package, disk: OvfDisk, path: str, progress: _ProgressLine) -> None:
    name = os.path.basename(path)
    with open(path, "w+b") as dst:
        if disk.file is None:
            vmdk.create_sparse(dst, disk.capacity_bytes, name=name)
            progress(99)
            return
        if not package.has(disk.file.href):
            raise _Failed(f"File ({disk.file.href}) could not be found.")
        try:
            with package.open(disk.file.href) as src:
                convert_stream_optimized(src, dst, progress=progress, name=name)
        except (DiskError, StemcellError) as exc:
            raise _Failed(f"Failed to convert disk: {disk.file.href}", str(exc)) from exc  # [I]
