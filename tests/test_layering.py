"""The folders are the floors, and every import points down.

Bottom to top: ``toolkit.errors``; ``toolkit.host`` (the Runner boundary, the
clock); ``toolkit.vmware`` (.vmx, devices, drivers, guest operations);
``toolkit.formats`` (ISO, VMDK, OVF, archives, stemcells); then ``cpi``; then, on
top, the simulator (``vmtk_sim``), the harness (``vmtk_harness``) and the CLI
(``vmtk_cli``). The library (toolkit and cpi) also never sleeps outside the
clock, never starts a process outside the Runner boundary and never prints.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Each floor and the floors it may import (besides itself and the standard library
# and third-party packages). A floor that is not listed may not be imported.
PRIMITIVES = {"toolkit", "toolkit.errors", "toolkit.host", "toolkit.vmware", "toolkit.formats", "toolkit.guest_scripts"}
ALLOWED: dict[str, set[str]] = {
    "toolkit.errors": set(),
    "toolkit.host": {"toolkit.errors"},
    "toolkit.vmware": {"toolkit.errors", "toolkit.host"},
    "toolkit.formats": {"toolkit.errors", "toolkit.host", "toolkit.vmware"},
    "toolkit": {"toolkit.errors", "toolkit.host", "toolkit.vmware", "toolkit.formats"},  # the public face
    "toolkit.guest_scripts": set(),
    "cpi": PRIMITIVES,
    "vmtk_sim": PRIMITIVES,
    "vmtk_harness": PRIMITIVES | {"vmtk_sim"},
    "vmtk_cli": PRIMITIVES | {"cpi", "vmtk_sim", "vmtk_harness"},
}
OURS = ("toolkit", "cpi", "vmtk_sim", "vmtk_harness", "vmtk_cli", "guest_scripts")
SOURCE_DIR = {"toolkit.guest_scripts": "guest_scripts"}


def _floor_of_module(module: str) -> str | None:
    """The floor an imported module belongs to, or None when it is not ours."""
    parts = module.split(".")
    if parts[0] not in OURS:
        return None
    if parts[0] == "toolkit" and len(parts) > 1 and f"toolkit.{parts[1]}" in ALLOWED:
        return f"toolkit.{parts[1]}"
    return parts[0]


def _floor_of_file(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    if rel.parts[0] == "guest_scripts":
        return "toolkit.guest_scripts"
    if rel.parts[:1] == ("toolkit",) and rel.parts[-1] == "__init__" and len(rel.parts) == 2:
        return "toolkit"
    floor = _floor_of_module(".".join(rel.parts))
    assert floor is not None, path
    return floor


def _imported(path: Path) -> set[str]:
    """Absolute module names a file imports, with ``from X import y`` also as ``X.y``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules(*packages: str) -> list[Path]:
    return sorted(f for package in packages for f in (ROOT / package).rglob("*.py"))


def _floors_imported(path: Path) -> set[str]:
    floors = set()
    for name in _imported(path):
        floor = _floor_of_module(name)
        # "from toolkit import errors" names toolkit.errors, not the public face.
        if floor == "toolkit" and name.split(".")[1:2] and f"toolkit.{name.split('.')[1]}" in ALLOWED:
            floor = f"toolkit.{name.split('.')[1]}"
        if floor is not None:
            floors.add(floor)
    return floors


def test_every_import_points_down_a_floor() -> None:
    offenders = {}
    for path in _modules(*OURS):
        floor = _floor_of_file(path)
        wrong = _floors_imported(path) - ALLOWED[floor] - {floor}
        if wrong:
            offenders[str(path.relative_to(ROOT))] = sorted(wrong)
    assert offenders == {}


@pytest.mark.parametrize("upper", ["cpi", "vmtk_sim", "vmtk_harness", "vmtk_cli", "click"])
def test_the_primitives_never_import_an_upper_floor_or_click(upper: str) -> None:
    # Stated on its own so that the rule reads as the design card says it.
    users = [
        str(f.relative_to(ROOT)) for f in _modules("toolkit") if any(n.split(".")[0] == upper for n in _imported(f))
    ]
    assert users == []


def test_the_floor_rules_catch_an_upward_import(tmp_path: Path) -> None:
    # The checker itself: a primitive importing the simulator is reported.
    bad = ROOT / "toolkit" / "host" / "_layering_probe.py"
    bad.write_text("from vmtk_sim import SimHost\nimport cpi.dispatch\n", encoding="utf-8")
    try:
        assert _floors_imported(bad) - ALLOWED[_floor_of_file(bad)] == {"vmtk_sim", "cpi"}
    finally:
        bad.unlink()


def test_only_the_cli_imports_click() -> None:
    users = [
        str(f.relative_to(ROOT))
        for f in _modules("toolkit", "cpi", "vmtk_sim", "vmtk_harness")
        if any(n.split(".")[0] == "click" for n in _imported(f))
    ]
    assert users == []


def test_the_cli_reaches_into_cpi_only_for_the_cpi_store_commands() -> None:
    # `vmtk store list|gc` read the CPI's store layout and orphan rules: one place, by design.
    users = [str(f.relative_to(ROOT)) for f in _modules("vmtk_cli") if "cpi" in _floors_imported(f)]
    assert users == ["vmtk_cli/store.py"]


def test_the_old_flat_module_names_are_gone() -> None:
    flat = sorted(p.name for p in (ROOT / "toolkit").glob("*.py") if p.name not in {"__init__.py", "errors.py"})
    assert flat == []
    assert not (ROOT / "toolkit" / "sim").exists() and not (ROOT / "toolkit" / "cli").exists()


def _calls(path: Path) -> set[str]:
    """Dotted names called in a module: ``time.sleep``, ``print``, ``subprocess.run`` ..."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            found.add(ast.unparse(node.func))
    return found


def _library() -> list[Path]:
    return _modules("toolkit", "cpi")


def test_only_the_clock_sleeps() -> None:
    # Every wait goes through an injected Clock, so tests never sleep for real.
    sleepers = [str(f.relative_to(ROOT)) for f in _library() if {"time.sleep", "sleep"} & _calls(f)]
    assert sleepers == ["toolkit/host/clock.py"]


def test_only_the_runner_boundary_starts_processes() -> None:
    # The Runner is the one place in the library that starts programs; the SSH
    # runner does so on the far side of a connection.
    def starts(path: Path) -> bool:
        return "subprocess" in _imported(path) or bool(
            {"os.system", "os.popen", "os.execv", "os.spawnv"} & _calls(path)
        )

    starters = [str(f.relative_to(ROOT)) for f in _library() if starts(f)]
    assert starters == ["toolkit/host/runner.py"]


def test_the_library_never_prints() -> None:
    # stdout carries results only, and only programs decide what they are.
    printers = [str(f.relative_to(ROOT)) for f in _library() if "print" in _calls(f)]
    assert printers == []


# --- no import circle --------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _edges(path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` a file imports, counting imports for typing and inside functions.

    ``from a import b`` is an arrow to ``a.b`` when that is a module, else to ``a``.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found.add(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module)
    return found & modules


def _import_graph(package: str) -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in _modules(package)}
    return {name: _edges(path, set(paths)) - {name} for name, path in paths.items()}


def _a_circle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of ``graph`` (``[a, b, a]``), or ``[]`` when it is acyclic."""
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> list[str]:
        if node in trail:
            return [*trail[trail.index(node) :], node]
        if node in done:
            return []
        for target in sorted(graph.get(node, ())):
            if circle := visit(target, [*trail, node]):
                return circle
        done.add(node)
        return []

    return next((c for node in sorted(graph) if (c := visit(node, []))), [])


@pytest.mark.parametrize("package", ["cpi", "toolkit", "vmtk_sim", "vmtk_harness", "vmtk_cli"])
def test_no_import_circle_within_a_package(package: str) -> None:
    # An arrow back, even one made only for typing, means two modules are one concept split in two.
    assert _a_circle(_import_graph(package)) == []


def test_the_circle_finder_finds_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"b", "d"}, "d": set()}
    assert _a_circle(graph) == ["b", "c", "b"]
    assert _a_circle({"a": {"b"}, "b": set()}) == []


def _host_file_work(path: Path) -> set[str]:
    """What in a module touches host files itself: the runner, path joins, .vmx reads and writes."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("runner", "read_vmx", "write_vmx"):
            found.add(node.attr)
        elif isinstance(node, ast.Attribute) and node.attr == "join" and not isinstance(node.value, ast.Constant):
            found.add("join")
        elif isinstance(node, ast.alias) and node.name in ("read_vmx", "write_vmx"):
            found.add(node.name)
    return found


@pytest.mark.parametrize("group", ["vms", "attachments", "disks", "stemcells", "power"])
def test_the_cpi_resource_groups_leave_files_to_the_resource_handles(group: str) -> None:
    # A VM's, disk's or stemcell's files are its handle's (cpi/vm.py, disk.py, stemcell.py):
    # a group that reaches for the runner or builds a path is doing the handle's job.
    assert _host_file_work(ROOT / "cpi" / f"{group}.py") == set()


def test_the_host_file_work_finder_finds_it() -> None:
    assert _host_file_work(ROOT / "cpi" / "vm.py") >= {"runner", "join", "read_vmx", "write_vmx"}
