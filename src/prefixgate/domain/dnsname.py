"""DNS names: validation and normalisation (lower case, no trailing dot)."""

from __future__ import annotations

import re

from .codes import Code
from .errors import InvalidInput

__all__ = ["is_within", "parse_hostname"]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _ascii_form(name: str) -> str | None:
    """The xn-- form of a Unicode name, to suggest it; None when it has none."""
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def _valid_a_label(label: str) -> bool:
    """An xn-- label must be a valid IDNA encoding (decode, pass nameprep) of a name that is not plain ASCII."""
    if not label.startswith("xn--"):
        return label[2:4] != "--"  # labels like ab--c are reserved for encodings
    try:
        decoded = label.encode("ascii").decode("idna")
    except UnicodeError:
        return False
    return not decoded.isascii()


def parse_hostname(
    text: str,
    *,
    what: str = "name",
    allow_wildcard: bool = False,
    trailing_dot: bool = True,
    code: int = Code.INVALID_FIELD,
) -> str:
    """Return the normalised name, or raise InvalidInput naming what is wrong.

    Rules: ASCII (IDNs in their xn-- form, which must decode), labels of 1-63 letters, digits or
    hyphens not at either end, at least two labels, 253 characters at most; `*.` first when wildcards
    are allowed; one trailing dot is dropped when `trailing_dot` allows it, refused otherwise.
    """
    lowered = text.lower()
    if not lowered.isascii():
        hint = _ascii_form(text.strip().removesuffix("."))
        use = f"; use its ASCII (punycode) form {hint}" if hint else ""
        raise InvalidInput(f"{what} {text!r} is not ASCII{use}", code=code)
    if lowered.endswith(".") and not trailing_dot:
        raise InvalidInput(f"{what} {text!r} ends with a dot; give the name without it", code=code)
    name = lowered.strip().removesuffix(".")
    if name != lowered.removesuffix("."):
        raise InvalidInput(f"{what} {text!r} is not a valid DNS name (no spaces)", code=code)
    if len(name) > 253:
        raise InvalidInput(f"{what} is {len(name)} characters long; a DNS name has at most 253", code=code)
    labels = name.split(".")
    if labels[0] == "*":
        if not allow_wildcard:
            raise InvalidInput(f"{what} {text!r}: a wildcard is not allowed here", code=code)
        labels = labels[1:]
    if len(labels) < 2:
        raise InvalidInput(f"{what} {text!r} is not a valid DNS name: it needs at least two labels", code=code)
    for label in labels:
        if len(label) > 63:
            raise InvalidInput(f"{what} {text!r} has a label of {len(label)} characters; at most 63", code=code)
        if not _LABEL.fullmatch(label) or not _valid_a_label(label):
            shown = label or "(empty)"
            raise InvalidInput(
                f"{what} {text!r} is not a valid DNS name: label {shown!r} may hold only letters, digits and "
                "inner hyphens (IDNs as valid xn-- labels)",
                code=code,
            )
    if labels[-1].isdigit():
        raise InvalidInput(f"{what} {text!r} looks like an IP address, not a DNS name", code=code)
    return name


def is_within(name: str, zone: str) -> bool:
    """True when `name` is the zone apex or a name below it."""
    return name == zone or name.endswith("." + zone)
