"""Job scripts as the simulated agent runs them: ``run_script``'s ``bin/<name>`` and ``drain``.

Each applied job that has the script runs it, as root in the VM's sandbox. The
bosh-agent runs them in parallel; here they run one after another, which
changes only how long the action takes. A ``bin/<name>`` script gets the
``env`` of run_script's options and appends its output to
``/var/vcap/sys/log/<job>/<name>.stdout.log`` and ``.stderr.log``.

A drain script gets the agent's arguments (``job_shutdown hash_unchanged``; for
an update the job, hash and package changes) and ``BOSH_JOB_STATE`` /
``BOSH_JOB_NEXT_STATE``. Its stdout must be a signed integer: the agent waits
that many seconds, and when it was negative runs the script again with
``job_check_status hash_unchanged``. The action then answers 0: the agent has
done the waiting since it took dynamic drain over from the Director, and
refuses the old "status" drain type. Failures are summed up in the agent's
words: "N of M <name> scripts failed. Failed Jobs: a. Successful Jobs: b."

Nothing here decides which jobs are applied (``actions.py`` does).
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from toolkit.host.clock import Clock
from vmtk_sim.mbus.errors import AgentActionError
from vmtk_sim.mbus.guest import LOGS, GuestFs

SCRIPT_TIMEOUT_SECONDS = 600.0
SCRATCH = "/var/vcap/data/tmp"
CHECK_STATUS = ("job_check_status", "hash_unchanged")
_SIGNED_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, slots=True)
class JobScript:
    """One job's copy of a script: the job's name and the script's guest path."""

    job: str
    path: str


def run_scripts(guest: GuestFs, scripts: Sequence[JobScript], name: str, env: Mapping[str, str]) -> None:
    """Run each script; raise the agent's summary if any exits non-zero."""
    passed = {}
    for script in scripts:
        outcome = guest.run(
            [script.path], env, timeout=SCRIPT_TIMEOUT_SECONDS, logs=f"{LOGS}/{script.job}", name=name, append=True
        )
        passed[script.job] = outcome.code == 0
    summarize(name, passed)


def script_env(options: Any) -> dict[str, str]:
    """run_script's ``options.env`` (names to strings), empty when there is none."""
    env = options.get("env") if isinstance(options, Mapping) else None
    if env is None:
        return {}
    if not isinstance(env, Mapping) or not all(isinstance(value, str) for value in env.values()):
        raise AgentActionError("Running script: options.env must map variable names to strings")
    return {str(key): value for key, value in env.items()}


def drain(
    guest: GuestFs, scripts: Sequence[JobScript], arguments: Sequence[str], env: Mapping[str, str], clock: Clock
) -> int:
    """Run each drain script until it is done; 0, or the agent's summary of those that failed."""
    summarize("drain", {script.job: _drain_one(guest, script, arguments, env, clock) for script in scripts})
    return 0


def _drain_one(
    guest: GuestFs, script: JobScript, arguments: Sequence[str], env: Mapping[str, str], clock: Clock
) -> bool:
    while True:
        value = _drain_value(guest, script, arguments, env)
        if value is None:
            return False
        clock.sleep(abs(value))
        if value >= 0:
            return True
        arguments = CHECK_STATUS  # a status check knows no next state
        env = {key: text for key, text in env.items() if key != "BOSH_JOB_NEXT_STATE"}


def _drain_value(guest: GuestFs, script: JobScript, arguments: Sequence[str], env: Mapping[str, str]) -> int | None:
    """The integer the script printed; ``None`` when it printed something else (the agent's failure)."""
    scratch = f"{SCRATCH}/drain-{uuid.uuid4().hex}"  # the agent reads drain's stdout without logging it
    try:
        outcome = guest.run([script.path, *arguments], env, timeout=SCRIPT_TIMEOUT_SECONDS, logs=scratch, name="drain")
    finally:
        shutil.rmtree(guest.host(scratch), ignore_errors=True)
    text = outcome.stdout.text.strip()
    return int(text) if _SIGNED_INTEGER.fullmatch(text) else None


def drain_params(
    drain_type: Any, current: Mapping[str, Any], new_specs: Sequence[Any]
) -> tuple[list[str], dict[str, str]]:
    """The drain scripts' arguments and environment for ``drain_type`` (shutdown or update)."""
    new = new_specs[0] if new_specs else None
    if new is not None and not isinstance(new, Mapping):
        raise AgentActionError("Drain: the new apply spec is not a map")
    if drain_type == "status":
        raise AgentActionError("Unexpected call with drain type 'status'")
    if drain_type == "update":
        if new is None:
            raise AgentActionError("Drain update requires new spec")
        arguments = [_job_change(current), _hash_change(current, new), *_updated_packages(current, new)]
    elif drain_type == "shutdown":
        arguments = ["job_shutdown", "hash_unchanged"]
    else:
        raise AgentActionError(f"Drain: unknown drain type {drain_type!r}")
    env = {"BOSH_JOB_STATE": job_state(current)}
    if new is not None:
        env["BOSH_JOB_NEXT_STATE"] = job_state(new)
    return arguments, env


def job_state(spec: Mapping[str, Any]) -> str:
    """What the agent shows drain scripts of an apply spec: its persistent disk size, compact JSON."""
    size = spec.get("persistent_disk")
    return json.dumps({"persistent_disk": size if isinstance(size, int) else 0}, separators=(",", ":"))


def _job_change(current: Mapping[str, Any]) -> str:
    return "job_changed" if (current.get("job") or {}).get("templates") else "job_new"


def _hash_change(current: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    old = current.get("configuration_hash") or ""
    if not old:
        return "hash_new"
    return "hash_unchanged" if old == new.get("configuration_hash") else "hash_changed"


def _updated_packages(current: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Names of the new spec's packages that are new or whose digest changed, sorted."""
    old = current.get("packages") or {}
    names = []
    for key, package in (new.get("packages") or {}).items():
        if not isinstance(package, Mapping):  # the agent cannot decode such a spec at all
            raise AgentActionError(f"Drain: package {key!r} of the new apply spec is not a map")
        name = package.get("name", key)
        before = old.get(name)
        if not isinstance(before, Mapping) or before.get("sha1") != package.get("sha1"):
            names.append(str(name))
    return sorted(names)


def summarize(name: str, passed: Mapping[str, bool]) -> None:
    """Raise the agent's summary when any job's script failed."""
    failed = [job for job, ok in passed.items() if not ok]
    if not failed:
        return
    succeeded = [job for job, ok in passed.items() if ok]
    message = "Failed Jobs: " + ", ".join(failed)
    if succeeded:
        message += ". Successful Jobs: " + ", ".join(succeeded)
    raise AgentActionError(f"{len(failed)} of {len(passed)} {name} scripts failed. {message}.")
