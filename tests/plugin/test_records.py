"""Pure parts of the harness: transcripts, VM settings, clone names and owner markers."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.errors import ConfigError
from vmtk_harness.clones import Owner, clone_name
from vmtk_harness.guest import GuestRecord, Transcript
from vmtk_harness.harness import VmSpec

LINE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=20)


def test_a_command_record_shows_command_exit_code_and_both_streams() -> None:
    record = GuestRecord("run", "/bin/sh -c 'exit 3'", 0.25, 3, "out 1\nout 2\n", "bad thing\n")

    assert record.render().splitlines() == [
        "$ /bin/sh -c 'exit 3'",
        "  exit code 3 after 0.25 s",
        "  stdout:",
        "  | out 1",
        "  | out 2",
        "  stderr:",
        "  | bad thing",
    ]


def test_a_failed_operation_shows_its_error() -> None:
    record = GuestRecord("get", "/etc/missing", 0.5, error="Error: A file was not found\nCommand: vmrun ...")

    assert record.render().splitlines() == [
        "get: /etc/missing",
        "  failed after 0.50 s",
        "  ! Error: A file was not found",
        "  ! Command: vmrun ...",
    ]


@given(st.lists(LINE, min_size=1, max_size=80), st.integers(min_value=1, max_value=50))
def test_long_output_keeps_its_last_lines_and_says_so(lines: list[str], tail: int) -> None:
    text = "\n".join(lines) + "\n"
    expected = text.rstrip("\n").splitlines()
    rendered = GuestRecord("run", "x", 0.0, 0, stdout=text).render(tail).splitlines()

    shown = [line[4:] for line in rendered if line.startswith("  | ")]
    assert shown == expected[-tail:]
    assert any(f"last {tail} of {len(expected)} lines" in line for line in rendered) == (len(expected) > tail)


def test_a_transcript_lists_its_vm_notes_and_operations_in_order() -> None:
    transcript = Transcript("vmtk-main-t-1", "/vms/t.vmx")
    transcript.add(GuestRecord("put", "3 bytes -> /tmp/x", 0.01))
    transcript.add(GuestRecord("run", "/bin/true", 0.02, 0))
    transcript.notes.append("kept for inspection: /vms/t.vmx")

    assert transcript.render().splitlines() == [
        "VM vmtk-main-t-1 (/vms/t.vmx)",
        "  note: kept for inspection: /vms/t.vmx",
        "put: 3 bytes -> /tmp/x",
        "  done in 0.01 s",
        "$ /bin/true",
        "  exit code 0 after 0.02 s",
    ]


def test_an_empty_transcript_says_nothing_was_done() -> None:
    assert "(no guest operations)" in Transcript("v", "/v.vmx").render()


def test_vm_settings_come_from_indirect_parameters() -> None:
    assert VmSpec.from_params({"memory": 1024, "cpus": "2"}) == VmSpec(memory_mb=1024, cpus=2)
    assert VmSpec.from_params({}) == VmSpec()


def test_unknown_vm_settings_are_refused_all_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        VmSpec.from_params({"memroy": 1024, "disk": 5, "cpus": 1})
    assert caught.value.problems == ("unknown VM setting 'disk'", "unknown VM setting 'memroy'")


@given(worker=st.text(max_size=12), label=st.text(max_size=80))
def test_clone_names_are_safe_file_names_that_never_repeat(worker: str, label: str) -> None:
    first, second = clone_name(worker, label), clone_name(worker, label)

    assert first != second
    assert re.fullmatch(r"vmtk-[a-z0-9]+-[a-z0-9-]+-[0-9a-f]{8}", first), first
    assert len(first) <= 64


def test_clone_names_carry_the_worker_and_the_test() -> None:
    assert clone_name("gw3", "test_copy[vm0]").startswith("vmtk-gw3-test-copy-vm0-")


@given(
    st.builds(Owner, host=st.text(max_size=30), pid=st.integers(1, 2**22), created=st.floats(0, 2e9, allow_nan=False))
)
def test_owner_markers_round_trip(owner: Owner) -> None:
    assert Owner.from_json(owner.to_json()) == owner


def test_an_owner_on_another_machine_is_never_taken_for_gone() -> None:
    assert not Owner("some-other-machine.example", 999_999_999, 0.0).is_gone()
