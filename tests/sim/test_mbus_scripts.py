"""The simulated agent's pure rules: drain arguments, failure summaries, quoted command output."""

from __future__ import annotations

import pytest

from vmtk_sim.mbus.errors import AgentActionError
from vmtk_sim.mbus.guest import TRUNCATE_BYTES, Outcome, Output
from vmtk_sim.mbus.scripts import drain_params, script_env, summarize

APPLIED = {
    "job": {"templates": [{"name": "web", "version": "1"}]},
    "configuration_hash": "h1",
    "persistent_disk": 2048,
    "packages": {"ruby": {"name": "ruby", "sha1": "aaa"}, "nginx": {"name": "nginx", "sha1": "bbb"}},
}


def test_shutdown_drain_arguments_and_job_state() -> None:
    assert drain_params("shutdown", APPLIED, []) == (
        ["job_shutdown", "hash_unchanged"],
        {"BOSH_JOB_STATE": '{"persistent_disk":2048}'},
    )


def test_update_drain_names_the_job_hash_and_package_changes() -> None:
    new = {
        **APPLIED,
        "configuration_hash": "h2",
        "persistent_disk": 0,
        "packages": {
            "ruby": {"name": "ruby", "sha1": "aaa"},
            "nginx": {"name": "nginx", "sha1": "ccc"},
            "git": {"name": "git", "sha1": "ddd"},
        },
    }
    arguments, env = drain_params("update", APPLIED, [new])
    assert arguments == ["job_changed", "hash_changed", "git", "nginx"]
    assert env == {"BOSH_JOB_STATE": '{"persistent_disk":2048}', "BOSH_JOB_NEXT_STATE": '{"persistent_disk":0}'}


def test_update_drain_on_a_fresh_agent_is_job_new_hash_new() -> None:
    arguments, _ = drain_params("update", {}, [APPLIED])
    assert arguments == ["job_new", "hash_new", "nginx", "ruby"]
    assert drain_params("update", APPLIED, [APPLIED])[0] == ["job_changed", "hash_unchanged"]


@pytest.mark.parametrize(
    ("drain_type", "new_specs", "message"),
    [
        ("status", [], "Unexpected call with drain type 'status'"),
        ("update", [], "Drain update requires new spec"),
        ("restart", [], "unknown drain type 'restart'"),
        ("shutdown", ["not a spec"], "new apply spec is not a map"),
        ("update", [{"packages": {"ruby": "not a map"}}], "package 'ruby' of the new apply spec is not a map"),
    ],
)
def test_drain_refuses(drain_type: str, new_specs: list[object], message: str) -> None:
    with pytest.raises(AgentActionError, match=message):
        drain_params(drain_type, APPLIED, new_specs)


def test_summary_names_failed_then_successful_jobs() -> None:
    summarize("pre-start", {"a": True, "b": True})  # all passed: nothing raised
    with pytest.raises(
        AgentActionError, match=r"^2 of 3 post-start scripts failed\. Failed Jobs: a, c\. Successful Jobs: b\.$"
    ):
        summarize("post-start", {"a": False, "b": True, "c": False})
    with pytest.raises(AgentActionError, match=r"^1 of 1 drain scripts failed\. Failed Jobs: a\.$"):
        summarize("drain", {"a": False})


def test_script_env_takes_only_string_values() -> None:
    assert script_env({}) == {} and script_env({"env": {"A": "1"}}) == {"A": "1"}
    with pytest.raises(AgentActionError, match="options.env"):
        script_env({"env": {"A": 1}})


def test_failure_quotes_output_as_the_agent_does() -> None:
    short = Outcome(2, Output(b"one\ntwo\n", 8), Output(b"", 0))
    # The agent trims at the first line break even when nothing was truncated.
    assert short.failure() == "Command exited with 2; Stdout: two\n, Stderr: "
    long_tail = b"x" * 100 + b"\r\n" + b"y" * (TRUNCATE_BYTES - 102)
    long = Outcome(1, Output(b"", 0), Output(long_tail, TRUNCATE_BYTES * 3))
    assert long.failure() == "Command exited with 1; Stdout: , Truncated stderr: " + "y" * (TRUNCATE_BYTES - 102)


def test_a_line_break_late_in_the_tail_is_not_cut_to_but_a_split_character_is() -> None:
    tail = "é".encode()[1:] + b"z" * (TRUNCATE_BYTES // 2) + b"\nend"
    assert Output(tail, TRUNCATE_BYTES + 1).quoted() == "z" * (TRUNCATE_BYTES // 2) + "\nend"
