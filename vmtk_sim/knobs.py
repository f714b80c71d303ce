"""The simulator's settings (``$VMRUN_SIM_HOME/sim.json``), typed and validated.

Knobs describe the simulated host (product, platform), its timings, injected
faults and the guest account. Reading them never changes state; a bad
``sim.json`` raises ``ConfigError`` listing every problem.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from toolkit.errors import ConfigError


class Product(str, enum.Enum):
    WORKSTATION = "ws"
    FUSION = "fusion"
    PLAYER = "player"


class Platform(str, enum.Enum):
    LINUX = "linux"
    WINDOWS = "windows"
    DARWIN = "darwin"


class SoftStop(str, enum.Enum):
    """What ``stop soft`` does while VMware Tools are not running."""

    HANG = "hang"  # real vmrun: blocks until the caller gives up
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Fault:
    """Answer the ``nth`` call (1-based) of ``verb`` with ``output`` instead of running it."""

    verb: str
    nth: int
    output: str
    exit_code: int = 255
    hang: bool = False


@dataclass(frozen=True, slots=True)
class Knobs:
    """Every ``sim.json`` key, with its default.

    ``product`` ws|fusion|player decides which ``-T`` values work; ``platform``
    windows makes output CRLF; ``boot_delay`` seconds from power-on until Tools
    (and the agent) run, ``ip_delay`` more until getGuestIPAddress answers;
    ``latency`` maps verbs (and ``default``, ``ovftool``) to seconds slept after
    acting; ``faults`` answer the Nth call of a verb once; ``guest_user`` and
    ``guest_password`` are the only guest account; ``soft_stop_without_tools``
    hang|error; ``power_on_hook`` is an argv run at power-on with the .vmx and
    the first CD-ROM image appended (env ``VMRUN_SIM_GUEST_ROOT``);
    ``mbus_agent`` true gives every VM whose agent accepts its settings a
    simulated agent serving the bosh CLI's HTTPS mbus (``vmtk_sim.mbus``);
    ``bosh_agent`` the path of a real ``bosh-agent`` binary: with ``mbus_agent``
    on, that program runs in each VM's guest sandbox instead of the simulated one.
    """

    product: Product = Product.WORKSTATION
    platform: Platform = Platform.LINUX
    boot_delay: float = 3.0
    ip_delay: float = 0.0
    latency: tuple[tuple[str, float], ...] = ()
    faults: tuple[Fault, ...] = ()
    guest_user: str = "vcap"
    guest_password: str = field(default="c1oudc0w", repr=False)
    soft_stop_without_tools: SoftStop = SoftStop.HANG
    power_on_hook: tuple[str, ...] | None = None
    mbus_agent: bool = False
    bosh_agent: str | None = None

    def latency_of(self, verb: str) -> float:
        table = dict(self.latency)
        return table.get(verb, table.get("default", 0.0))

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Knobs:
        problems: list[str] = []
        unknown = set(data) - set(cls.__dataclass_fields__)
        problems.extend(f"unknown knob {name!r}" for name in sorted(unknown))
        values = {name: _convert(name, data[name], problems) for name in data if name not in unknown}
        if problems:
            raise ConfigError(problems, subject="sim.json")
        return cls(**values)  # type: ignore[arg-type]


def _convert(name: str, value: object, problems: list[str]) -> object:
    try:
        return _CONVERTERS[name](value)
    except (TypeError, ValueError, KeyError) as exc:
        problems.append(f"{name}: {exc}")
        return None


def _latency(value: object) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, Mapping):
        raise TypeError("expected a map of verb to seconds")
    return tuple((str(verb).lower(), float(seconds)) for verb, seconds in value.items())


def _faults(value: object) -> tuple[Fault, ...]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return tuple(
        Fault(
            verb=str(item["verb"]).lower(),
            nth=int(item.get("nth", 1)),
            output=str(item.get("output", "")),
            exit_code=int(item.get("exit_code", 255)),
            hang=bool(item.get("hang", False)),
        )
        for item in value
    )


def _hook(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(part, str) for part in value):
        raise TypeError("expected an argv list of strings")
    return tuple(value)


def _optional_path(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise TypeError("expected a path or null")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


def _non_negative(value: object) -> float:
    number = float(value)  # type: ignore[arg-type]
    if number < 0:
        raise ValueError("must not be negative")
    return number


_CONVERTERS: dict[str, Callable[[Any], object]] = {
    "product": Product,
    "platform": Platform,
    "boot_delay": _non_negative,
    "ip_delay": _non_negative,
    "latency": _latency,
    "faults": _faults,
    "guest_user": str,
    "guest_password": str,
    "soft_stop_without_tools": SoftStop,
    "power_on_hook": _hook,
    "mbus_agent": _flag,
    "bosh_agent": _optional_path,
}
