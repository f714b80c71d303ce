"""``vmtk guest``: files and programs inside a running VM's guest OS.

A thin layer over ``toolkit.vmware.guest.Guest``. Guest paths in ``cp`` are written
``VMX:PATH``. It must not know vmrun's verbs or messages, and never takes a
password from argv (``App.credentials`` reads the environment or prompts).
"""

from __future__ import annotations

import click

from toolkit.errors import GuestProgramNotFoundError
from toolkit.vmware.guest import Guest, GuestOs, wait_for_tools
from vmtk_cli.app import App, pass_app, vmx_path
from vmtk_cli.hostpaths import require_host_file, require_parent_dir
from vmtk_cli.output import emit_rows
from vmtk_cli.seconds import SECONDS

VMX = click.argument("vmx", metavar="VMX", callback=vmx_path)
GUEST_MARK = ".vmx:"


@click.group("guest")
@click.option(
    "--os",
    "guest_os",
    type=click.Choice([o.value for o in GuestOs]),
    default=GuestOs.LINUX.value,
    show_default=True,
    help="Guest operating system.",
)
@click.pass_context
def group(ctx: click.Context, guest_os: str) -> None:
    """Copy files, run programs and list processes in a guest (needs VMware Tools).

    Credentials: --guest-user (or VMTK_GUEST_USER) and the password in
    VMTK_GUEST_PASSWORD (or the variable named by --guest-password-env).
    """
    ctx.meta["vmtk.guest_os"] = GuestOs(guest_os)


def open_guest(app: App, vmx: str) -> Guest:
    guest_os = click.get_current_context().meta.get("vmtk.guest_os", GuestOs.LINUX)
    return Guest(app.vmrun, vmx, app.credentials(), clock=app.clock, os=guest_os)


def split_location(text: str) -> tuple[str | None, str]:
    """``VMX:PATH`` -> (VMX, PATH); a host path -> (None, path).

    Only ``<something>.vmx:`` marks a guest location, so a Windows host path
    such as ``C:\\data\\x`` (a drive letter before ':') stays a host path.
    """
    at = text.lower().find(GUEST_MARK)
    if at < 0:
        return None, text
    cut = at + len(GUEST_MARK)
    return text[: cut - 1], text[cut:]


@group.command()
@click.argument("source")
@click.argument("dest")
@pass_app
def cp(app: App, source: str, dest: str) -> None:
    """Copy a file between host and guest; the guest side is VMX:PATH.

    \b
      vmtk guest cp ./setup.sh vm/vm.vmx:/tmp/setup.sh
      vmtk guest cp vm/vm.vmx:/var/log/syslog ./syslog
    """
    src_vmx, src_path = split_location(source)
    dst_vmx, dst_path = split_location(dest)
    if (src_vmx is None) == (dst_vmx is None):
        raise click.UsageError("exactly one of SOURCE and DEST must be a guest path VMX:PATH")
    # vmrun's "A file was not found" does not say which side: check the host's first.
    if src_vmx is not None:
        require_parent_dir(app.host, dst_path)
        open_guest(app, src_vmx).copy_from(src_path, dst_path)
    else:
        require_host_file(app.host, src_path)
        open_guest(app, dst_vmx or "").copy_to(src_path, dst_path)


@group.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--timeout", type=SECONDS, default=600.0, show_default=True, metavar="SECONDS")
@VMX
@click.argument("program")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@pass_app
@click.pass_context
def run(ctx: click.Context, app: App, vmx: str, program: str, args: tuple[str, ...], timeout: float) -> None:
    """Run PROGRAM in the guest; show its output and exit with its exit code.

    Everything after PROGRAM goes to the program: vmtk guest run VMX /bin/ls -la /
    """
    result = open_guest(app, vmx).run(program, *args, timeout=timeout, on_output=echo_stream)
    if result.program_missing:
        raise GuestProgramNotFoundError(program)
    ctx.exit(result.exit_code)


def echo_stream(stream: str, text: str) -> None:
    click.echo(text, nl=False, err=stream == "stderr")


@group.command()
@VMX
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def ps(app: App, vmx: str, as_json: bool) -> None:
    """List the guest's processes."""
    rows = [{"pid": p.pid, "owner": p.owner, "command": p.command} for p in open_guest(app, vmx).processes()]
    emit_rows(rows, ("pid", "owner", "command"), as_json=as_json)


@group.command()
@VMX
@click.argument("pid", type=int)
@pass_app
def kill(app: App, vmx: str, pid: int) -> None:
    """Kill the guest process PID."""
    open_guest(app, vmx).kill(pid)


@group.command()
@VMX
@click.option("--process", metavar="NAME", help="Wait for a process with this name (default: VMware Tools).")
@click.option("--timeout", type=SECONDS, default=300.0, show_default=True, metavar="SECONDS")
@pass_app
def wait(app: App, vmx: str, process: str | None, timeout: float) -> None:
    """Wait until VMware Tools (or --process NAME) runs in the guest.

    Waiting for Tools needs no guest login; --process lists the guest's processes, which does.
    """
    if process is None:
        with app.waiting() as display:
            display.step(f"Waiting for VMware Tools in {vmx}", limit=timeout)
            wait_for_tools(app.vmrun, vmx, timeout=timeout, clock=app.clock)
        return
    guest = open_guest(app, vmx)  # the password is asked (or refused) before the wait begins
    with app.waiting() as display:
        display.step(f"Waiting for process {process!r} in {vmx}", limit=timeout)
        found = guest.wait_for_process(process, max_wait=timeout)
    click.echo(found.pid)


@group.command()
@VMX
@click.argument("path")
@pass_app
@click.pass_context
def exists(ctx: click.Context, app: App, vmx: str, path: str) -> None:
    """Exit 0 if PATH exists in the guest, 1 if not (like 'test -e')."""
    ctx.exit(0 if open_guest(app, vmx).exists(path) else 1)


@group.command()
@VMX
@click.argument("path")
@pass_app
def mkdir(app: App, vmx: str, path: str) -> None:
    """Create the directory PATH (and its parents) in the guest."""
    open_guest(app, vmx).mkdir(path)


@group.command()
@VMX
@click.argument("path")
@click.option("-r", "--recursive", is_flag=True, help="Remove a directory and its contents.")
@pass_app
def rm(app: App, vmx: str, path: str, recursive: bool) -> None:
    """Remove the file PATH (with -r, the directory PATH) in the guest."""
    guest = open_guest(app, vmx)
    if recursive:
        guest.remove_dir(path)
    else:
        guest.remove(path)
