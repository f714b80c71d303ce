"""The dependency direction is cli -> toolkit <- cpi; the library never imports cpi or click, never
sleeps outside the clock, never starts a process outside the Runner boundary, never prints."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules(package: str, *, exclude: str = "") -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    return [f for f in files if not exclude or exclude not in f.parts]


def test_toolkit_never_imports_cpi_or_click_outside_the_cli() -> None:
    offenders = {
        str(f.relative_to(ROOT)): sorted(_imports(f) & {"cpi", "click"})
        for f in _modules("toolkit", exclude="cli")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_cpi_never_imports_click_or_the_cli() -> None:
    offenders = [str(f.relative_to(ROOT)) for f in _modules("cpi") if "click" in _imports(f)]
    assert offenders == []
    assert not any("toolkit.cli" in f.read_text(encoding="utf-8") for f in _modules("cpi"))


def test_nothing_outside_the_cli_imports_it() -> None:
    users = [
        str(f.relative_to(ROOT))
        for pkg in ("toolkit", "cpi")
        for f in _modules(pkg, exclude="cli")
        if "toolkit.cli" in f.read_text(encoding="utf-8")
    ]
    assert users == []


def test_the_cli_reaches_into_cpi_only_for_the_cpi_store_commands() -> None:
    # `vmtk store list|gc` read the CPI's store layout and orphan rules: one place, by design.
    users = [str(f.relative_to(ROOT)) for f in _modules("toolkit/cli") if "cpi" in _imports(f)]
    assert users == ["toolkit/cli/store.py"]


def _calls(path: Path) -> set[str]:
    """Dotted names called in a module: ``time.sleep``, ``print``, ``subprocess.run`` ..."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            found.add(ast.unparse(node.func))
    return found


def _library() -> list[Path]:
    return _modules("toolkit", exclude="cli") + _modules("cpi")


def test_only_the_clock_sleeps() -> None:
    # Every wait goes through an injected Clock, so tests never sleep for real.
    sleepers = [str(f.relative_to(ROOT)) for f in _library() if {"time.sleep", "sleep"} & _calls(f)]
    assert sleepers == ["toolkit/clock.py"]


def test_only_the_runner_boundary_starts_processes() -> None:
    # The Runner (and, inside the simulator, its guest sandbox) is the one place
    # that starts programs; the SSH runner does so on the far side of a connection.
    def starts(path: Path) -> bool:
        return "subprocess" in _imports(path) or bool({"os.system", "os.popen", "os.execv", "os.spawnv"} & _calls(path))

    starters = [str(f.relative_to(ROOT)) for f in _library() if starts(f)]
    assert starters == ["toolkit/runner.py", "toolkit/sim/programs.py", "toolkit/sim/sandbox.py"]


def test_the_library_never_prints() -> None:
    # stdout carries results only, and only programs decide what they are.
    printers = [str(f.relative_to(ROOT)) for f in _library() if "print" in _calls(f)]
    assert printers == []
