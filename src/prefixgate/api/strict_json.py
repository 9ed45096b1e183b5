"""Strict JSON for request bodies: I-JSON (RFC 7493) on top of RFC 8259.

Python's `json.loads` is lenient where an API must not be: it guesses UTF-16 and UTF-32 from the
first bytes, skips a UTF-8 byte order mark, returns lone surrogates from `\\ud800` escapes, reads
`NaN` and `Infinity`, and keeps the last of two equal keys. Two parsers that disagree on a body
(the last key or the first?) are how a request means one thing to a proxy and another to us.

`loads` refuses all of these in one pass over the text, raising `json.JSONDecodeError` whose
`msg` names the reason, so FastAPI reports it like any other malformed body. Unknown fields are
not its business: the schemas still ignore them, as Cloudflare does.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["loads"]

_BOM = "\ufeff"
_MAX_SHOWN = 64  # characters of an offending key quoted in the message
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(ValueError):
    """Raised from inside the decoder's hooks; `loads` turns it into a JSONDecodeError."""


def _show(key: str) -> str:
    return repr(key if len(key) <= _MAX_SHOWN else key[:_MAX_SHOWN] + "…")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {_show(key)}")
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _lone_surrogate(value: Any) -> str | None:
    """The first string (key or value) holding a lone surrogate, or None.

    Escaped pairs are already joined into one code point by the decoder, and strict UTF-8
    decoding refuses encoded surrogates, so any surrogate left in a string stands alone.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


_decoder = json.JSONDecoder(object_pairs_hook=_unique_object, parse_constant=_no_constant)


def loads(body: bytes) -> Any:
    """Decode a request body strictly.

    Raises:
        json.JSONDecodeError: the body is not UTF-8, starts with a byte order mark, holds a lone
            surrogate, a duplicate key at any depth, NaN or Infinity, or is not JSON at all.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(f"not UTF-8 (byte {exc.start})", "", exc.start) from None
    if text.startswith(_BOM):
        raise json.JSONDecodeError("a byte order mark is not allowed", text, 0)
    try:
        value = _decoder.decode(text)
    except json.JSONDecodeError:
        raise
    except _Refused as exc:
        raise json.JSONDecodeError(str(exc), text, 0) from None
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError as exc:  # an integer past Python's digit limit (int_max_str_digits)
        reason = "a number has too many digits" if "digits" in str(exc) else str(exc)
        raise json.JSONDecodeError(reason, text, 0) from None
    # Only a \u escape can yield a surrogate, and bodies with one are rare: skip the walk otherwise.
    if "\\u" in text and (found := _lone_surrogate(value)) is not None:
        raise json.JSONDecodeError(f"lone surrogate in the string {_show(found)}", text, 0)
    return value
