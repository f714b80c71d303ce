"""The release, built once per test session, and helpers to render and install it as BOSH would."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from release.build import ROOT, Built, build

JOB_DIR = ROOT / "release" / "jobs" / "vmrun_cpi"
RENDER = Path(__file__).with_name("render.rb")
CACHE = ROOT / ".cache" / "wheels"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """``make release`` into a temp dir (downloads the pinned wheels once into .cache/wheels)."""
    return build(tmp_path_factory.mktemp("dist"), CACHE)


@pytest.fixture(scope="session")
def unpacked(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return extract(built.path.read_bytes(), tmp_path_factory.mktemp("release"))


def extract(data: bytes, dest: Path) -> Path:
    import io

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")
    return dest


def merged_properties(manifest_properties: Mapping[str, Any]) -> dict[str, Any]:
    """What a template sees, as the bosh CLI computes it: every property the job
    spec declares, from the manifest or else its default (else null), nested."""
    spec = yaml.safe_load((JOB_DIR / "spec").read_text())
    merged: dict[str, Any] = {}
    for dotted, declaration in spec["properties"].items():
        value = _lookup(manifest_properties, dotted)
        if value is None:
            value = (declaration or {}).get("default")
        _assign(merged, dotted.split("."), value)
    return merged


def _lookup(properties: Mapping[str, Any], dotted: str) -> Any:
    node: Any = properties
    for key in dotted.split("."):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _assign(tree: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        tree = tree.setdefault(key, {})
    tree[keys[-1]] = value


def render(template: str, manifest_properties: Mapping[str, Any], tmp_path: Path) -> str:
    """Render ``templates/<template>`` with Ruby's ERB (skips when ruby is absent)."""
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby is not installed (.ci/run installs it)")
    props = tmp_path / f"{template}.properties.json"
    props.write_text(json.dumps(merged_properties(manifest_properties)))
    done = subprocess.run([ruby, str(RENDER), str(JOB_DIR / "templates" / template), str(props)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout
