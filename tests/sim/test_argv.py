"""vmrun argv parsing: auth flags only before the verb, verbs case-insensitive."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vmtk_sim.argv import VERBS, parse, split_options


def test_auth_flags_before_the_verb_are_taken() -> None:
    inv = parse(["-T", "ws", "-gu", "vcap", "-gp", "pw", "runProgramInGuest", "/v.vmx", "/bin/true"])
    assert (inv.host_type, inv.guest_user, inv.guest_password) == ("ws", "vcap", "pw")
    assert (inv.verb, inv.params, inv.vmx) == ("runprograminguest", ("/v.vmx", "/bin/true"), "/v.vmx")


def test_flags_after_the_verb_are_parameters_not_credentials() -> None:
    inv = parse(["runProgramInGuest", "/v.vmx", "-gu", "vcap", "-gp", "pw", "/bin/true"])
    assert inv.guest_user is None and inv.guest_password is None
    assert inv.params[1:3] == ("-gu", "vcap")


def test_the_guest_password_is_not_in_the_repr() -> None:
    assert "s3cret" not in repr(parse(["-gp", "s3cret", "list"]))


def test_unknown_verbs_and_empty_argv_have_no_verb() -> None:
    assert parse([]).verb == ""
    assert parse(["-T", "ws"]).verb == ""
    assert parse(["frobnicate", "/v.vmx"]).verb == ""


@given(st.sampled_from(sorted(VERBS)), st.lists(st.booleans(), min_size=1))
def test_verbs_match_in_any_case(verb: str, upper: list[bool]) -> None:
    spelled = "".join(c.upper() if upper[i % len(upper)] else c for i, c in enumerate(verb))
    assert parse(["-T", "ws", spelled, "/v.vmx"]).verb == verb


@given(st.lists(st.sampled_from(["-noWait", "-NOWAIT", "-activeWindow", "-interactive"]), max_size=3))
def test_leading_bare_options_are_split_off(flags: list[str]) -> None:
    known = frozenset({"-nowait", "-activewindow", "-interactive"})
    found, rest = split_options([*flags, "/bin/echo", "-noWait"], known)
    assert found == {f.lower() for f in flags}
    assert rest == ["/bin/echo", "-noWait"]
