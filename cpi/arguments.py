"""Typed values out of a request's JSON arguments, or a ``CpiError`` naming the argument.

The dispatcher's adapters call these; each takes the raw JSON value and the
argument's name as BOSH documents it. This module only checks shapes: it never
dispatches and never touches the host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from cpi.errors import CpiError
from cpi.ids import Cid

C = TypeVar("C", bound=Cid)


def text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise CpiError(f"Argument '{name}' must be a non-empty string, got {_kind(value)}")
    return value


def mapping(value: object, name: str, *, allow_null: bool = True) -> dict[str, Any]:
    """A JSON object (``null`` reads as ``{}`` where BOSH may send it)."""
    if value is None and allow_null:
        return {}
    if not isinstance(value, Mapping):
        raise CpiError(f"Argument '{name}' must be an object, got {_kind(value)}")
    return dict(value)


def integer(value: object, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise CpiError(f"Argument '{name}' must be an integer, got {_kind(value)}")
    if value < minimum:
        raise CpiError(f"Argument '{name}' must be at least {minimum}, got {int(value)}")
    return int(value)


def cid(kind: type[C], value: object, name: str) -> C:
    return kind.parse(value, argument=name)


def optional_cid(kind: type[C], value: object, name: str) -> C | None:
    """A locality hint: the Director may send ``null``, the CLI an empty string."""
    if value is None or value == "":
        return None
    return kind.parse(value, argument=name)


def cid_list(kind: type[C], value: object, name: str) -> list[C]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CpiError(f"Argument '{name}' must be an array, got {_kind(value)}")
    return [kind.parse(item, argument=name) for item in value]


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    return {bool: "a boolean", int: "a number", float: "a number", list: "an array", dict: "an object"}.get(
        type(value), type(value).__name__
    )
