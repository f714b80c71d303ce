"""Where and how a simulated agent serves its HTTPS mbus, read from its settings.

Pure: reads the settings the CPI put on the CD-ROM, never the network or files.
As the real agent does, the URL comes from ``env.bosh.mbus.urls[0]`` when
present, else from ``mbus``; only ``https`` is served (a ``nats://`` agent waits
for a NATS server the simulator does not have); the TLS key pair is
``env.bosh.mbus.cert`` and without one the agent's handler fails to start
("Loading configured tls certificate"). The simulator binds loopback only,
whatever host the URL names: the VMs it simulates have no network of their own.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from vmtk_sim.mbus.errors import AgentActionError

BLOBSTORE_PATH = "/var/vcap/micro_bosh/data/cache"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The agent's HTTPS listener: port, basic-auth credentials and TLS key pair."""

    port: int
    username: str
    password: str = field(repr=False)
    certificate: str = field(repr=False)
    private_key: str = field(repr=False)

    def authorization(self) -> str:
        """The exact ``Authorization`` header the agent accepts."""
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def endpoint(settings: Mapping[str, Any]) -> Endpoint:
    """The agent's listener, or ``AgentActionError`` saying why the agent cannot serve."""
    url = mbus_url(settings)
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise AgentActionError(f"mbus {parts.scheme or url!r}: the simulator serves https mbus only")
    try:
        port = parts.port
    except ValueError as exc:
        raise AgentActionError(f"Starting HTTP listener: bad port in the mbus URL: {exc}") from None
    if port is None:
        raise AgentActionError("Starting HTTP listener: the mbus URL has no port")
    certificate, private_key = _key_pair(settings)
    return Endpoint(port, unquote(parts.username or ""), unquote(parts.password or ""), certificate, private_key)


def mbus_url(settings: Mapping[str, Any]) -> str:
    """``env.bosh.mbus.urls[0]`` beats the top-level ``mbus`` (the agent's ``GetMbusURL``)."""
    urls = _dig(settings, "env", "bosh", "mbus", "urls")
    if isinstance(urls, list) and urls and isinstance(urls[0], str):
        return urls[0]
    url = settings.get("mbus")
    if not isinstance(url, str) or not url:
        raise AgentActionError("settings have no mbus URL")
    return url


def blobstore_path(settings: Mapping[str, Any]) -> str:
    """The guest directory of the agent's local blobstore (``env.bosh.blobstores[0]`` first)."""
    stores = _dig(settings, "env", "bosh", "blobstores")
    store = stores[0] if isinstance(stores, list) and stores else settings.get("blobstore")
    options = store.get("options") if isinstance(store, Mapping) else None
    path = options.get("blobstore_path") if isinstance(options, Mapping) else None
    return path if isinstance(path, str) and path.startswith("/") else BLOBSTORE_PATH


def _key_pair(settings: Mapping[str, Any]) -> tuple[str, str]:
    cert = _dig(settings, "env", "bosh", "mbus", "cert")
    certificate = cert.get("certificate") if isinstance(cert, Mapping) else None
    private_key = cert.get("private_key") if isinstance(cert, Mapping) else None
    if not (isinstance(certificate, str) and certificate and isinstance(private_key, str) and private_key):
        raise AgentActionError(
            "Starting https handler: Loading configured tls certificate: "
            "env.bosh.mbus.cert has no certificate and private_key"
        )
    return certificate, private_key


def _dig(tree: Mapping[str, Any], *keys: str) -> Any:
    node: Any = tree
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node
