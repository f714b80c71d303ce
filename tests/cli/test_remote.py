"""``--ssh`` option handling that needs no server: destinations, keys, vmrun's remote path."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from tests.cli.expect import assert_error
from toolkit.host.ssh.target import HostPlatform
from vmtk_cli.app import App
from vmtk_cli.main import cli
from vmtk_cli.remote import (
    HOST_VMRUN_PATHS,
    PLATFORMS,
    Destination,
    SshOptions,
    parse_destination,
    read_key,
)

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._", min_size=1, max_size=20)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vmware@ws.lan", Destination("vmware", "ws.lan", 22)),
        ("vmware@ws.lan:2222", Destination("vmware", "ws.lan", 2222)),
        ("a@b@10.0.0.1:22", Destination("a@b", "10.0.0.1", 22)),
        ("ops@[::1]:2200", Destination("ops", "::1", 2200)),
        ("ops@[fe80::1]", Destination("ops", "fe80::1", 22)),
        ("ops@fe80::1", Destination("ops", "fe80::1", 22)),
    ],
)
def test_destinations(text: str, expected: Destination) -> None:
    assert parse_destination(text) == expected


def test_without_a_user_the_local_user_is_meant() -> None:
    assert parse_destination("ws.lan:2022", default_user="me") == Destination("me", "ws.lan", 2022)


@pytest.mark.parametrize("text", ["u@host:0", "u@host:65536", "u@host:ssh", "u@", "@host", "u@[::1]:x"])
def test_bad_destinations_are_usage_errors(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_destination(text)


@given(user=NAMES, host=NAMES, port=st.integers(1, 65535))
def test_destination_round_trip(user: str, host: str, port: int) -> None:
    assert parse_destination(f"{user}@{host}:{port}") == Destination(user, host, port)
    assert parse_destination(f"{user}@[{host}]:{port}") == Destination(user, host, port)


def test_platform_choices_are_the_ssh_runners() -> None:
    assert set(PLATFORMS) == {p.value for p in HostPlatform} == set(HOST_VMRUN_PATHS)


def test_the_key_is_read_from_its_file(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("KEY TEXT")
    assert read_key(str(tmp_path / "k")) == "KEY TEXT"


def test_a_missing_key_file_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--ssh", "u@127.0.0.1", "--ssh-key", str(tmp_path / "none"), "vm", "list"], obj=App()
    )
    assert_error(result, "cannot read the SSH key", "none")


def test_a_bad_destination_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--ssh", "u@h:99999", "vm", "list"], obj=App())
    assert result.exit_code == 2 and "--ssh" in result.stderr


def test_a_key_that_is_not_a_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("not-a-key-SECRET-ish")
    result = CliRunner().invoke(
        cli, ["--ssh", "u@127.0.0.1", "--ssh-key", str(tmp_path / "k"), "vm", "list"], obj=App()
    )
    assert "SECRET" not in assert_error(result, "private key")


def test_ssh_options_are_kept_in_the_settings(tmp_path: Path) -> None:
    app = App()
    CliRunner().invoke(
        cli, ["--ssh", "u@h", "--ssh-platform", "windows", "--ssh-host-key", "ssh-rsa AAAA", "iso", "--help"], obj=app
    )
    assert app.settings.ssh == SshOptions("u@h", None, "ssh-rsa AAAA", "windows", False)
    assert app.runner is None  # nothing connects until a command needs the host


def test_every_ssh_option_has_its_documented_variable() -> None:
    app = App()
    env = {
        "VMTK_SSH": "u@h:2",
        "VMTK_SSH_KEY": "k",
        "VMTK_SSH_HOST_KEY": "ssh-rsa AAAA",
        "VMTK_SSH_PLATFORM": "darwin",
        "VMTK_SSH_INSECURE_SKIP_HOST_KEY_CHECK": "1",
    }
    CliRunner().invoke(cli, ["iso", "--help"], obj=app, env=env)
    assert app.settings.ssh == SshOptions("u@h:2", "k", "ssh-rsa AAAA", "darwin", True)
