"""The BOSH external-CPI wire format: the request and response envelopes.

Request: ``{"method": str, "arguments": [...], "context": {...}, "api_version": int?}``.
Response: ``{"result": any, "error": null | {"type", "message", "ok_to_retry"}, "log": str}``;
all three keys are always present and ``log`` is always a string, because the
Director schema-validates the response. This module parses and renders only:
it never dispatches and never touches the host.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cpi.errors import CpiError, CpiFailure
from toolkit.formats import strictjson


class ApiVersion(int, enum.Enum):
    """The CPI contract version of one call; selects the result shapes."""

    V1 = 1
    V2 = 2

    @classmethod
    def of(cls, value: int) -> ApiVersion:
        # v3 changes only create_stemcell's optional third argument: answer as v2.
        return cls.V2 if value >= 2 else cls.V1


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    arguments: tuple[Any, ...]
    context: Mapping[str, Any] = field(default_factory=dict)
    api_version: ApiVersion = ApiVersion.V1

    @property
    def stemcell_api_version(self) -> int:
        """``context.vm.stemcell.api_version``: what the VM's agent understands (1 when absent or invalid)."""
        vm = self.context.get("vm")
        stemcell = vm.get("stemcell") if isinstance(vm, dict) else None
        value = stemcell.get("api_version") if isinstance(stemcell, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1

    @property
    def request_id(self) -> str:
        value = self.context.get("request_id")
        return value if isinstance(value, str) else ""

    @classmethod
    def parse(cls, raw: bytes | str) -> Request:
        """A request from stdin bytes; ``CpiError`` naming what is wrong."""
        body = _json_object(raw)
        method = body.get("method")
        if not isinstance(method, str) or not method:
            raise CpiError("Must provide 'method' key (a non-empty string)")
        arguments = body.get("arguments")
        if not isinstance(arguments, list):
            raise CpiError("Must provide 'arguments' key (an array)")
        context = body.get("context", {})
        if context is None:
            context = {}
        if not isinstance(context, dict):
            raise CpiError("'context' must be an object")
        return cls(method, tuple(arguments), context, _api_version(body, context))


def _json_object(raw: bytes | str) -> dict[str, Any]:
    try:
        body = strictjson.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise CpiError(f"Must provide valid JSON payload: {exc}") from None
    if not isinstance(body, dict):
        raise CpiError("Must provide valid JSON payload: expected an object")
    return body


def _api_version(body: Mapping[str, Any], context: Mapping[str, Any]) -> ApiVersion:
    """Top-level ``api_version``; else the stemcell's from the context; else 1."""
    if "api_version" in body and body["api_version"] is not None:
        return ApiVersion.of(_version_int(body["api_version"], "api_version"))
    vm = context.get("vm")
    stemcell = vm.get("stemcell") if isinstance(vm, dict) else None
    value = stemcell.get("api_version") if isinstance(stemcell, dict) else None
    if value is None:
        return ApiVersion.V1
    return ApiVersion.of(_version_int(value, "context.vm.stemcell.api_version"))


def _version_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CpiError(f"'{name}' must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Response:
    result: Any = None
    error: CpiFailure | None = None
    log: str = ""

    def to_dict(self) -> dict[str, Any]:
        error = None
        if self.error is not None:
            error = {
                "type": self.error.bosh_type,
                "message": self.error.message,
                "ok_to_retry": bool(self.error.ok_to_retry),
            }
        return {"result": None if error else self.result, "error": error, "log": self.log}

    def to_json(self) -> str:
        # ensure_ascii: stdout stays ASCII whatever the locale of the CPI process.
        return json.dumps(self.to_dict(), ensure_ascii=True, default=str)
