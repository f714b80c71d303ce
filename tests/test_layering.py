"""The dependency direction is cli -> toolkit <- cpi; the library never imports cpi or click."""

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
