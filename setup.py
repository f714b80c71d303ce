"""Package discovery for setuptools (the metadata lives in pyproject.toml).

Every package under the import roots is found, so a new subpackage ships
without editing a list. ``guest_scripts/`` stays at the top of the source tree
(it is data that runs inside guests) and ships as ``toolkit.guest_scripts``; the
sample files the demo and the harness need ship from ``fixtures/stemcell/``
as ``vmtk_sim.sample_files`` (``vmtk_sim.samples`` finds them either way).
Each entry point is declared only when the package it runs is in the tree: the
BOSH release builds its CPI wheel from ``toolkit/``, ``cpi/`` and
``guest_scripts/`` alone, and that wheel must carry no command into the
simulator, the harness or the CLI.
"""

from pathlib import Path

from setuptools import find_packages, setup

ROOTS = ["toolkit", "cpi", "vmtk_sim", "vmtk_harness", "vmtk_cli"]
SCRIPTS = {
    "vmtk": ("vmtk_cli", "vmtk_cli.main:main"),
    "bosh-vmrun-cpi": ("cpi", "cpi.__main__:main"),
    "vmrun-sim": ("vmtk_sim", "vmtk_sim.cli:vmrun_main"),
    "ovftool-sim": ("vmtk_sim", "vmtk_sim.cli:ovftool_main"),
}
PYTEST_PLUGINS = {"vmtk": ("vmtk_harness", "vmtk_harness.pytest_plugin")}
HERE = Path(__file__).parent


def present(package: str) -> bool:
    return (HERE / package / "__init__.py").is_file()


def entries(table: dict[str, tuple[str, str]]) -> list[str]:
    return [f"{name} = {target}" for name, (package, target) in table.items() if present(package)]


def data_packages() -> dict[str, str]:
    """Packages made of a source folder elsewhere in the tree: import name -> folder."""
    mapped = {"toolkit.guest_scripts": "guest_scripts"}
    if present("vmtk_sim"):
        mapped["vmtk_sim.sample_files"] = "fixtures/stemcell"  # its data: pyproject.toml
    return mapped


setup(
    packages=[*find_packages(include=[p for root in ROOTS for p in (root, f"{root}.*")]), *data_packages()],
    package_dir=data_packages(),
    entry_points={"console_scripts": entries(SCRIPTS), "pytest11": entries(PYTEST_PLUGINS)},
)
