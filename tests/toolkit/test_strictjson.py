"""JSON from outside is parsed as RFC 8259 defines it: no NaN, no Infinity, no overflow to infinity."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.formats import strictjson

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
)


@pytest.mark.parametrize("text", ['{"wait": NaN}', "[Infinity]", "-Infinity", '{"size": 1e400}', "[-2e308]"])
def test_non_finite_numbers_are_refused(text: str) -> None:
    assert any(isinstance(v, float) and not math.isfinite(v) for v in _floats(json.loads(text)))  # Python takes them
    with pytest.raises(ValueError):
        strictjson.loads(text)


@given(value=json_values)
def test_real_json_reads_as_the_standard_library_reads_it(value: object) -> None:
    text = json.dumps(value)
    assert strictjson.loads(text) == json.loads(text)


def _floats(value: object) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for item in value.values() for f in _floats(item)]
    if isinstance(value, list):
        return [f for item in value for f in _floats(item)]
    return []
