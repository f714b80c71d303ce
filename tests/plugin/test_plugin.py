"""The pytest plugin, driven by pytester: options, fixtures, report sections, cleanup, keep."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin.conftest import (
    clone_dirs,
    lab_dir,
    needs_sandbox,
    plugin_args,
    run_inline,
)
from vmtk_harness.pytest_plugin import KEPT_NOTE

pytestmark = [pytest.mark.real_process]

FAILING_IN_GUEST = """
def test_inside(vm):
    vm.guest.put(b"data", "/tmp/input")
    vm.guest.sh("echo visible-output; echo visible-error >&2; exit 3").check()
"""


def clones(pytester: pytest.Pytester) -> list[str]:
    return clone_dirs(lab_dir(pytester))


def test_the_options_are_offered(pytester: pytest.Pytester) -> None:
    result = run_inline(pytester, "--help")

    result.stdout.fnmatch_lines(
        [
            "vmtk: throwaway VMs*",
            "*--vmtk-vmrun=PATH*",
            "*--vmtk-template=VMX_OR_STEMCELL*",
            "*--vmtk-guest-user=USER*",
            "*--vmtk-keep*",
        ]
    )


@pytest.mark.slow
def test_the_plugin_does_nothing_for_tests_that_do_not_use_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_plain(tmp_path_factory):
            loaded = [name for name in sys.modules if name.startswith(("vmtk_harness.harness", "vmtk_sim"))]
            assert loaded == []
            assert not (tmp_path_factory.getbasetemp() / "vmtk").exists()
        """
    )
    result = pytester.runpytest_subprocess(*plugin_args())

    result.assert_outcomes(passed=1)


@needs_sandbox
def test_a_test_failing_inside_the_guest_reports_the_commands_and_their_output(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING_IN_GUEST)

    result = run_inline(pytester)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- vmtk guest operations (call) -*",
            "VM vmtk-main-test-inside-* (*.vmx)",
            "power on: *.vmx",
            "wait_for_tools: up to 300 s",
            "put: 4 bytes -> /tmp/input",
            "$ /bin/sh -c 'echo visible-output; echo visible-error >&2; exit 3'",
            "  exit code 3 after * s",
            "  stdout:",
            "  | visible-output",
            "  stderr:",
            "  | visible-error",
        ]
    )
    assert KEPT_NOTE not in result.stdout.str()
    assert clones(pytester) == [], "the failed test's VM was not destroyed"


@needs_sandbox
def test_passing_tests_show_no_guest_section(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(vm):\n    assert vm.guest.sh('true').exit_code == 0\n")

    result = run_inline(pytester, "-rA")

    result.assert_outcomes(passed=1)
    assert "vmtk guest operations" not in result.stdout.str()
    assert clones(pytester) == []


@needs_sandbox
def test_keep_leaves_the_failed_tests_vm_and_destroys_the_others(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING_IN_GUEST + "\ndef test_fine(vm):\n    vm.guest.sh('true').check()\n")

    result = run_inline(pytester, "--vmtk-keep")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([KEPT_NOTE])
    kept = clones(pytester)
    assert len(kept) == 1 and kept[0].startswith("vmtk-main-test-inside-")
    assert (lab_dir(pytester) / "clones" / kept[0] / f"{kept[0]}.vmx").is_file()


@needs_sandbox
def test_vms_take_indirect_parameters_and_the_factory_makes_several(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pathlib import Path
        import pytest

        @pytest.mark.parametrize("vm", [{"memory": 1024, "cpus": 2}], indirect=True)
        def test_settings(vm):
            text = Path(vm.vmx).read_text()
            assert 'memsize = "1024"' in text and 'numvcpus = "2"' in text

        def test_two(vm_factory, vmtk_host):
            first, second = vm_factory(), vm_factory(memory=256)
            assert first.vmx != second.vmx
            assert {vmtk_host.sim.vm(v.vmx).tools for v in (first, second)} == {"running"}
        """
    )

    result = run_inline(pytester)

    result.assert_outcomes(passed=2)
    assert clones(pytester) == []


def test_a_real_vmrun_needs_the_guest_password_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VMTK_GUEST_PASSWORD", raising=False)
    pytester.makepyfile("def test_x(vm):\n    pass\n")

    result = run_inline(
        pytester, "--vmtk-vmrun", str(tmp_path / "vmrun"), "--vmtk-template", str(tmp_path / "t" / "t.vmx")
    )

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*set VMTK_GUEST_PASSWORD to the guest password of the template*"])


def test_a_real_vmrun_needs_a_template(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VMTK_VMRUN", "/opt/vmware/vmrun")
    monkeypatch.setenv("VMTK_GUEST_PASSWORD", "secret")
    pytester.makepyfile("def test_x(vm):\n    pass\n")

    result = run_inline(pytester)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--vmtk-template is required with a real vmrun*"])


@needs_sandbox
def test_on_the_simulator_the_lab_lives_in_the_sessions_temporary_directory(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_where(vmtk_host, tmp_path_factory):
            assert vmtk_host.config.workdir == str(tmp_path_factory.getbasetemp() / "vmtk")
            assert vmtk_host.sim is not None
            assert vmtk_host.template.vmx.endswith("vmtk-template.vmx")  # the fixture stemcell, imported
        """
    )

    result = run_inline(pytester, "--vmtk-workdir=")

    result.assert_outcomes(passed=1)
