"""The simulated agent's HTTPS listener: ``/agent`` messages and ``/blobs/`` uploads.

Routes, status codes and checks follow the bosh-agent's HTTPS handler: an
unknown path is 404 before any check; on a known path a wrong or missing
``Authorization`` is 401 (compared in constant time); ``/agent`` takes POST
only (404 otherwise) and answers 200 with the agent's JSON envelope; blobs are
``PUT`` (201) and ``GET`` (200, 404 when absent) by the last path component.
TLS uses the key pair from the settings (loaded from a private temporary file
that is removed at once). Nothing logs a request's body or headers: the mbus
password and the uploaded blobs stay out of the log.
"""

from __future__ import annotations

import hmac
import json
import os
import shutil
import ssl
import tempfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from toolkit.errors import ToolkitError
from toolkit.formats import strictjson
from vmtk_sim.mbus.actions import SimAgent
from vmtk_sim.mbus.endpoint import Endpoint

LOOPBACK = "127.0.0.1"
MAX_MESSAGE_BYTES = 16 << 20
CHUNK = 1 << 20


class AgentServer(ThreadingHTTPServer):
    """One agent's HTTPS server on loopback; ``log`` receives one line per request."""

    daemon_threads = True

    def __init__(self, endpoint: Endpoint, agent: SimAgent, log: Callable[[str], None]) -> None:
        super().__init__((LOOPBACK, endpoint.port), _Handler)
        self.endpoint, self.agent, self.log = endpoint, agent, log
        self.socket = tls_context(endpoint).wrap_socket(self.socket, server_side=True)


def tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    """A server context holding the agent's certificate and key (HTTP/1.1 only, as the agent)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_alpn_protocols(["http/1.1"])
    with tempfile.TemporaryDirectory(prefix="vmtk-mbus-") as private:  # 0700, removed on exit
        pem = os.path.join(private, "pair.pem")
        with open(os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="ascii") as out:
            out.write(endpoint.certificate.strip() + "\n" + endpoint.private_key.strip() + "\n")
        context.load_cert_chain(pem)
    return context


class _Handler(BaseHTTPRequestHandler):
    server: AgentServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        if self._routed() and self._authorized():
            if self.path != "/agent":
                return self._reply(404)
            self._agent_message()

    def do_PUT(self) -> None:
        if self._routed() and self._authorized():
            if not self.path.startswith("/blobs/"):
                return self._reply(404)
            try:
                self.server.agent.blobs.write(self._blob_id(), self._body_chunks())
            except (OSError, ToolkitError) as exc:
                return self._reply(500, str(exc).encode())
            self._reply(201)

    def do_GET(self) -> None:
        if self._routed() and self._authorized():
            if not self.path.startswith("/blobs/"):
                return self._reply(404)
            self._send_blob()

    def _routed(self) -> bool:
        if self.path == "/agent" or self.path.startswith("/blobs/"):
            return True
        self._reply(404)
        return False

    def _authorized(self) -> bool:
        given = self.headers.get("Authorization", "").encode()
        if hmac.compare_digest(given, self.server.endpoint.authorization().encode()):
            return True
        self._reply(401, headers={"WWW-Authenticate": 'Basic realm=""'})
        return False

    def _agent_message(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_MESSAGE_BYTES:
            return self._reply(400)
        try:
            message = strictjson.loads(self.rfile.read(length))
        except ValueError:
            return self._reply(500)  # the agent's handler fails to decode: 500, no envelope
        if not isinstance(message, dict):
            return self._reply(500)
        answer = self.server.agent.handle(message.get("method"), message.get("arguments"))
        self._reply(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    def _blob_id(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]

    def _body_chunks(self) -> Iterator[bytes]:
        left = int(self.headers.get("Content-Length") or 0)
        while left > 0:
            chunk = self.rfile.read(min(CHUNK, left))
            if not chunk:
                raise ConnectionError("the client closed the upload early")
            left -= len(chunk)
            yield chunk

    def _send_blob(self) -> None:
        try:
            source = self.server.agent.blobs.open(self._blob_id())
        except (OSError, ToolkitError):
            return self._reply(404)
        with source:
            size = os.fstat(source.fileno()).st_size
            self._reply(200, headers={"Content-Length": str(size)}, body_follows=True)
            shutil.copyfileobj(source, self.wfile, CHUNK)

    def _reply(
        self, code: int, body: bytes = b"", headers: dict[str, str] | None = None, *, body_follows: bool = False
    ) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if not body_follows:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(format % args)  # the request line and status: never headers or bodies
