"""``vmtk sim``: set up, inspect and clear the simulator's state directory.

The simulator (``vmrun-sim``, ``ovftool-sim``) keeps its state under
``$VMRUN_SIM_HOME``; this group writes its knobs (``sim.json``), shows its VMs
and clears it. It must not model VMware itself: that is ``vmtk_sim``, nor
empty a directory the simulator did not make. It touches files directly (the
simulator is a fake host, not a Runner); an ``OSError`` from that is turned
into one ``Error:`` line by the root group.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vmtk_cli.output import emit_rows
from vmtk_cli.seconds import SECONDS
from vmtk_sim.knobs import Product

if TYPE_CHECKING:
    from vmtk_sim import SimHost

HOME = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="VMRUN_SIM_HOME",
    default=Path.home() / ".vmrun-sim",
    show_default="$VMRUN_SIM_HOME or ~/.vmrun-sim",
    help="The simulator's state directory.",
)
KNOBS_FILE = "sim.json"
SAMPLE_STEMCELL = "stemcell/image"
# Files only a simulator home holds: without one of them, --home points elsewhere.
SIM_FILES = frozenset({KNOBS_FILE, "state.json", "state.json.lock", "calls.jsonl"})


@click.group("sim")
def group() -> None:
    """The built-in VMware host simulator: try vmtk and the CPI without VMware."""


@group.command()
@HOME
@click.option("--product", type=click.Choice([p.value for p in Product]), help="Which VMware product to play.")
@click.option("--boot-delay", type=SECONDS, metavar="S", help="Seconds from power-on until VMware Tools run.")
@click.option(
    "--latency", "latency", multiple=True, metavar="VERB=S", help="Extra seconds per call of VERB (or 'default')."
)
@click.option(
    "--mbus-agent/--no-mbus-agent",
    default=None,
    help="Give each VM a simulated BOSH agent serving the bosh CLI's HTTPS mbus (for bosh create-env).",
)
@click.option(
    "--bosh-agent",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    metavar="PATH",
    help='With --mbus-agent: run this real bosh-agent binary (e.g. "$VMTK_BOSH_AGENT") '
    "in each VM's guest sandbox instead of the simulated agent.",
)
def up(
    home: Path,
    product: str | None,
    boot_delay: float | None,
    latency: tuple[str, ...],
    mbus_agent: bool | None,
    bosh_agent: str | None,
) -> None:
    """Create the state directory (its parent must exist), write its knobs and show how to use it."""
    if not home.parent.exists():  # (a file there is the host's refusal, worded below)
        raise click.ClickException(
            f"cannot create {home}: the directory {home.parent} does not exist (create it first)"
        )
    knobs: dict[str, object] = {
        "product": product,
        "boot_delay": boot_delay,
        "mbus_agent": mbus_agent,
        "bosh_agent": bosh_agent,
    }
    if latency:
        knobs["latency"] = _latency(latency)
    _host(home).configure(**{k: v for k, v in knobs.items() if v is not None})
    vmrun = Path(sys.executable).with_name("vmrun-sim")
    click.echo(f"Simulator ready in {home} (knobs in {home / KNOBS_FILE}). Use it with:\n")
    click.echo(f"  export VMRUN_SIM_HOME={home}")
    click.echo(f"  export VMTK_VMRUN={vmrun if vmrun.exists() else 'vmrun-sim'}")
    click.echo("  export VMTK_GUEST_USER=vcap   # the simulated guest's login (see sim.json)")


@group.command()
@HOME
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def status(home: Path, as_json: bool) -> None:
    """List the simulated VMs with their power, VMware Tools and agent state."""
    host = _host(home)
    rows = []
    for key in sorted(host.home.snapshot().vms):
        view = host.vm(key)
        rows.append(
            {
                "vmx": view.path,
                "power": view.power.value,
                "tools": view.tools,
                "agent": view.agent.status.value,
                "reason": view.agent.reason or None,
            }
        )
    emit_rows(rows, ("vmx", "power", "tools", "agent", "reason"), as_json=as_json)


@group.command()
@HOME
@click.option("--knobs", is_flag=True, help="Also forget the knobs (sim.json).")
@click.confirmation_option(prompt="Forget every simulated VM's state?", help="Do not ask.")
def reset(home: Path, knobs: bool) -> None:
    """Forget all simulated state (VM files written elsewhere are left alone)."""
    if not home.is_dir():
        return
    entries = list(home.iterdir())
    if entries and not SIM_FILES & {entry.name for entry in entries}:
        raise click.ClickException(
            f"{home} does not look like a simulator home (it has no {KNOBS_FILE} or state.json): "
            "refusing to empty it (check --home or VMRUN_SIM_HOME)"
        )
    for entry in entries:
        if entry.name == KNOBS_FILE and not knobs:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@group.command()
def stemcell() -> None:
    """Print the path of the small sample stemcell image that ships with the simulator.

    It imports like a bosh.io vSphere stemcell and boots on the simulator:

    \b
        vmtk stemcell import "$(vmtk sim stemcell)" vms/web
    """
    from vmtk_sim.samples import sample_path

    click.echo(sample_path(SAMPLE_STEMCELL))


def _latency(pairs: tuple[str, ...]) -> dict[str, float]:
    table: dict[str, float] = {}
    for pair in pairs:
        verb, _, seconds = pair.partition("=")
        try:
            table[verb] = float(seconds)
        except ValueError:
            raise click.BadParameter(f"{pair!r} is not VERB=SECONDS", param_hint="--latency") from None
    return table


def _host(home: Path) -> SimHost:
    from vmtk_sim import SimHost  # loads the host model only for the command that needs it

    return SimHost(home)
