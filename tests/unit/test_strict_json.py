"""strict_json.loads: agrees with json.loads on every I-JSON text, and refuses what I-JSON forbids."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prefixgate.api.strict_json import loads

# Strings without surrogates (hypothesis' default), numbers without NaN/Infinity: exactly I-JSON's values.
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
values = st.recursive(scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=30)


@given(value=values, ascii_only=st.booleans())
def test_agrees_with_json_on_valid_documents(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)  # escapes astral characters as surrogate pairs when ascii
    assert loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a": 1, "a": 1}', "duplicate key 'a'"),
        (b'{"a": {"b": [{"c": 1, "c": 2}]}}', "duplicate key 'c'"),
        (b'{"\\u0061": 1, "a": 2}', "duplicate key 'a'"),  # equal once unescaped
        (b'{"' + b"k" * 100 + b'": 1, "' + b"k" * 100 + b'": 2}', "duplicate key '" + "k" * 64 + "…'"),
        (b'{"a": "\xc3"}', "not UTF-8 (byte 7)"),
        (b'"\xed\xa0\x80"', "not UTF-8"),  # a surrogate encoded directly
        ('{"a": 1}'.encode("utf-16-be"), "Expecting value"),
        (b'\xef\xbb\xbf{"a": 1}', "byte order mark"),
        (b'["\\ud800"]', "lone surrogate"),
        (b'"\\udc00\\ud800"', "lone surrogate"),
        (b'{"x": ["ok", {"\\ud83d": 1}]}', "lone surrogate"),
        (b"[NaN]", "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b"1" * 5000, "a number has too many digits"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"", "Expecting value"),
    ],
)
def test_refuses_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(json.JSONDecodeError) as err:
        loads(body)
    assert reason in err.value.msg


def test_escaped_backslash_before_u_is_not_an_escape() -> None:
    assert loads(b'"\\\\ud800"') == "\\ud800"
    assert loads(b'"\\ud83d\\ude00"') == "\U0001f600"
