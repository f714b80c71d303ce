"""The bosh CLI's side of a BOSH agent's HTTPS mbus: agent requests and blob uploads, for tests.

A port of what ``bosh create-env`` and ``delete-env`` do on the wire (bosh-agent
``agentclient/http/agent_client.go``, ``agent_request.go``, ``agent_response.go``;
bosh-cli ``blobstore/``; bosh-davcli ``client/client.go``):

- ``send``: ``POST <mbus>/agent`` with ``{"method", "arguments", "reply_to"}``
  and basic auth; any status but 200 is an error, an ``exception`` in the
  answer is an error, else the answer's ``value``.
- Asynchronous methods answer ``{"agent_task_id", "state": "running"}``; the
  client then polls ``get_task [id]`` every ``get_task_delay`` until the task
  is no longer running, forgiving up to ``tolerated_errors`` failed polls in a
  row (an exception from ``get_task`` counts as one, as in the Go client).
- Blobs go to ``<mbus>/blobs/<first byte of sha1(id) as %02x>/<id>`` (PUT
  expects 201 or 204, GET 200), with the mbus URL's user and password.

The server is verified against ``ca`` when one is given (the CLI uses
``cloud_provider.cert.ca``). This module talks HTTP only: it starts no process
and knows nothing of the CPI or the simulator.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import ssl
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

REQUEST_TIMEOUT = 60.0


class AgentRequestError(Exception):
    """The request did not get a 200 answer (connection failure, TLS failure or HTTP status)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AgentError(Exception):
    """The agent answered with an ``exception``."""


@dataclass(frozen=True, slots=True)
class Mbus:
    """One agent's HTTPS endpoint as the CLI reaches it (``cloud_provider.mbus``)."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    ca: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str, ca: str | None = None) -> Mbus:
        """``https://USER:PASSWORD@HOST:PORT``, the form of ``cloud_provider.mbus``."""
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.port is None:
            raise ValueError("mbus URL must be https://user:password@host:port")
        return cls(parts.hostname, parts.port, unquote(parts.username or ""), unquote(parts.password or ""), ca)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """One HTTPS request with basic auth: (status, body). ``AgentRequestError`` if no answer came."""
        pair = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {pair}", "Content-Type": "application/json"}
        connection = http.client.HTTPSConnection(self.host, self.port, timeout=REQUEST_TIMEOUT, context=self._context())
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:  # ssl.SSLError is an OSError
            raise AgentRequestError(f"Performing request to agent endpoint '{path}': {exc}") from exc
        finally:
            connection.close()

    def _context(self) -> ssl.SSLContext:
        if self.ca is None:  # the CLI without cloud_provider.cert: no verification
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            return context
        return ssl.create_default_context(cadata=self.ca)


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A package source or compiled package in the blobstore (agentclient.BlobRef)."""

    name: str
    version: str
    sha1: str
    blobstore_id: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha1": self.sha1, "blobstore_id": self.blobstore_id}


@dataclass(frozen=True, slots=True)
class AgentClient:
    """The CLI's HTTP agent client for one VM (``reply_to`` is the deployment's director ID)."""

    mbus: Mbus
    director_id: str
    get_task_delay: float = 0.1
    tolerated_errors: int = 10  # agent_client_factory.go passes 10

    def send(self, method: str, arguments: list[Any]) -> Any:
        """One request; the answer's ``value``."""
        body = json.dumps({"method": method, "arguments": arguments, "reply_to": self.director_id}).encode()
        status, raw = self.mbus.request("POST", "/agent", body)
        if status != 200:
            raise AgentRequestError(f"Agent responded with non-successful status code: {status}", status)
        answer = json.loads(raw)
        if answer.get("exception") is not None:
            raise AgentError(f"Agent responded with error: {answer['exception'].get('message')}")
        return answer.get("value")

    def run_task(self, method: str, arguments: list[Any]) -> Any:
        """An asynchronous method: start it, then poll ``get_task`` until it is no longer running."""
        started = self.send(method, arguments)
        if not isinstance(started, dict) or not isinstance(started.get("agent_task_id"), str):
            raise AgentError(f"Getting agent task id: {method} answered {started!r}")
        task_id, failures = started["agent_task_id"], 0
        while True:
            try:
                value = self.send("get_task", [task_id])
                failures = 0
            except (AgentRequestError, AgentError):
                failures += 1
                if failures > self.tolerated_errors:
                    raise
            else:
                if not _running(value):
                    return value
            time.sleep(self.get_task_delay)

    def ping(self) -> str:
        return str(self.send("ping", []))

    def wait_until_ready(self, timeout: float, delay: float) -> None:
        """Ping until the agent answers (vm.WaitUntilReady: a timeout retry strategy)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.ping()
                return
            except (AgentRequestError, AgentError):
                if time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)

    def get_state(self) -> dict[str, Any]:
        """``get_state``, retried up to ``tolerated_errors + 1`` attempts."""
        for attempt in range(self.tolerated_errors + 1):
            try:
                value = self.send("get_state", [])
                return value if isinstance(value, dict) else {}
            except (AgentRequestError, AgentError):
                if attempt == self.tolerated_errors:
                    raise
                time.sleep(self.get_task_delay)
        raise AssertionError("unreachable")

    def wait_to_be_running(self, max_attempts: int, delay: float) -> dict[str, Any]:
        """get_state until ``job_state`` is ``running`` (vm.WaitToBeRunning)."""
        state: dict[str, Any] = {}
        for attempt in range(max_attempts):
            state = self.get_state()
            if state.get("job_state") == "running":
                return state
            if attempt + 1 < max_attempts:
                time.sleep(delay)
        raise AgentError(f"Received non-running job state: '{state.get('job_state')}'")

    def start(self) -> None:
        value = self.send("start", [])
        if value != "started":
            raise AgentError(f"Failed to start agent services with response: '{value}'")

    def list_disk(self) -> list[str]:
        return [str(cid) for cid in self.send("list_disk", []) or []]

    def stop(self) -> None:
        self.run_task("stop", [])

    def apply(self, spec: dict[str, Any]) -> None:
        self.run_task("apply", [spec])

    def run_script(self, name: str, options: dict[str, Any]) -> None:
        self.run_task("run_script", [name, options])

    def mount_disk(self, disk_cid: str) -> None:
        self.run_task("mount_disk", [disk_cid])

    def unmount_disk(self, disk_cid: str) -> None:
        self.run_task("unmount_disk", [disk_cid])

    def add_persistent_disk(self, disk_cid: str, hint: Any) -> None:
        self.run_task("add_persistent_disk", [disk_cid, hint])

    def remove_persistent_disk(self, disk_cid: str) -> None:
        self.run_task("remove_persistent_disk", [disk_cid])

    def migrate_disk(self) -> None:
        self.run_task("migrate_disk", [])

    def drain(self, drain_type: str) -> int:
        """``drain`` ("shutdown" or "update"): seconds to wait, negative to ask again with "status"."""
        return int(self.run_task("drain", [drain_type]))

    def compile_package(self, source: BlobRef, dependencies: list[BlobRef]) -> BlobRef:
        """Compile ``source`` on the agent; the compiled package's blob (same name and version)."""
        deps = {dep.name: dep.to_json() for dep in dependencies}
        value = self.run_task("compile_package", [source.blobstore_id, source.sha1, source.name, source.version, deps])
        result = value.get("result") if isinstance(value, dict) else None
        if not isinstance(result, dict) or not all(isinstance(result.get(k), str) for k in ("sha1", "blobstore_id")):
            raise AgentError(f"Unable to parse 'compile_package' response from the agent: {value!r}")
        return BlobRef(source.name, source.version, result["sha1"], result["blobstore_id"])


def _running(value: Any) -> bool:
    """A ``get_task`` value that still describes a running task (TaskResponse.TaskState)."""
    if isinstance(value, dict) and "agent_task_id" in value:
        if "state" not in value:
            raise AgentError(f"Failed to parse task state from agent response {value!r}")
        return bool(value["state"] == "running")
    return False


@dataclass(frozen=True, slots=True)
class DavBlobstore:
    """The agent's blob endpoint, ``<mbus>/blobs``, as the CLI's davcli client uses it."""

    mbus: Mbus

    @staticmethod
    def blob_path(blob_id: str) -> str:
        return f"/blobs/{hashlib.sha1(blob_id.encode()).digest()[0]:02x}/{blob_id}"

    def put(self, blob_id: str, data: bytes) -> None:
        status, body = self.mbus.request("PUT", self.blob_path(blob_id), data)
        if status not in (201, 204):
            raise AgentRequestError(
                f"Putting dav blob {blob_id}: Wrong response code: {status}; body: "
                f"{body[:1024].decode(errors='replace')}",
                status,
            )

    def get(self, blob_id: str) -> bytes:
        status, body = self.mbus.request("GET", self.blob_path(blob_id))
        if status != 200:
            raise AgentRequestError(
                f"Getting dav blob {blob_id}: Wrong response code: {status}; body: "
                f"{body[:1024].decode(errors='replace')}",
                status,
            )
        return body

    def add(self, source: Path) -> str:
        """Upload a file under a new UUID blob ID (blobstore.Add); the ID."""
        blob_id = str(uuid.uuid4())
        self.put(blob_id, source.read_bytes())
        return blob_id
