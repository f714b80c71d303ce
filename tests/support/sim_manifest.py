"""``docs/examples/sim-create-env.yml`` read as the bosh CLI reads it, for the create-env flow test.

The CLI interpolates ``((name))`` variables (a whole-value variable may be a
map, as the generated ``mbus_bootstrap_ssl`` certificate is), then hands the
CPI ``cloud_provider.properties`` and builds each create_vm argument from the
resource pool, the network and the instance group. This module does the same
for the one documented manifest, so the test drives exactly what the docs tell
users to run. It reads the file and builds values; it runs nothing.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from release.build import ROOT

MANIFEST = ROOT / "docs" / "examples" / "sim-create-env.yml"
_VARIABLE = re.compile(r"\(\(([A-Za-z0-9_.]+)\)\)")


def interpolate(node: Any, values: dict[str, Any]) -> Any:
    """``node`` with every ``((name))`` replaced; ``KeyError`` naming a variable without a value."""
    if isinstance(node, dict):
        return {key: interpolate(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, values) for item in node]
    if not isinstance(node, str):
        return node
    whole = _VARIABLE.fullmatch(node)
    if whole:
        return values[whole.group(1)]
    return _VARIABLE.sub(lambda match: str(values[match.group(1)]), node)


@dataclass(frozen=True)
class SimManifest:
    """The interpolated manifest and the CPI arguments the CLI derives from it."""

    data: dict[str, Any]

    @classmethod
    def load(cls, values: dict[str, Any], path: Path = MANIFEST) -> SimManifest:
        raw = yaml.safe_load(path.read_text())
        raw.pop("variables", None)  # the vars store's generation rules: the test supplies the values
        return cls(interpolate(raw, values))

    def cpi_properties(self) -> dict[str, Any]:
        return dict(self.data["cloud_provider"]["properties"])

    def mbus_url(self) -> str:
        return str(self.data["cloud_provider"]["mbus"])

    def release_tarball(self) -> Path:
        return Path(self.data["releases"][0]["url"].removeprefix("file://"))

    def stemcell_tarball(self) -> Path:
        return Path(self.data["resource_pools"][0]["stemcell"]["url"].removeprefix("file://"))

    def vm_cloud_properties(self) -> dict[str, Any]:
        return dict(self.data["resource_pools"][0]["cloud_properties"])

    def vm_env(self) -> dict[str, Any]:
        return dict(self.data["resource_pools"][0]["env"])

    def disk_size(self) -> int:
        return int(self.data["disk_pools"][0]["disk_size"])

    def networks(self) -> dict[str, Any]:
        """create_vm's networks argument: the instance group's static IP on the manual subnet."""
        group = self.data["instance_groups"][0]
        network = group["networks"][0]
        subnet = next(n for n in self.data["networks"] if n["name"] == network["name"])["subnets"][0]
        return {
            network["name"]: {
                "type": "manual",
                "ip": network["static_ips"][0],
                "netmask": str(ipaddress.ip_network(subnet["range"]).netmask),
                "gateway": subnet["gateway"],
                "dns": subnet.get("dns", []),
                "default": ["dns", "gateway"],
                "cloud_properties": subnet.get("cloud_properties", {}),
            }
        }
