"""Reading posted forms: URL-encoded only, bounded, one value per field."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from urllib.parse import parse_qsl

from ..domain.codes import Code
from ..domain.errors import InvalidInput

__all__ = ["Form", "parse_form"]

_MAX_FIELDS = 200


class Form(Mapping[str, str]):
    """A posted form's fields; a missing field reads as ""."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    def __getitem__(self, name: str) -> str:
        values = self._fields.get(name)
        return values[0] if values else ""

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def all(self, name: str) -> list[str]:
        """Every value posted under `name` (checkboxes, multi-selects)."""
        return list(self._fields.get(name, []))

    def flag(self, name: str) -> bool:
        return self[name].lower() in ("1", "on", "true", "yes")


def parse_form(body: bytes, content_type: str | None) -> Form:
    """Parse an application/x-www-form-urlencoded body.

    Raises:
        InvalidInput: another content type, bytes that are not UTF-8, or too many fields.
    """
    media = (content_type or "").partition(";")[0].strip().lower()
    if body and media != "application/x-www-form-urlencoded":
        raise InvalidInput("the form must be posted as application/x-www-form-urlencoded", code=Code.INVALID_BODY)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the form is not UTF-8", code=Code.INVALID_BODY) from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=_MAX_FIELDS)
    except ValueError:
        raise InvalidInput(f"a form has at most {_MAX_FIELDS} fields", code=Code.INVALID_BODY) from None
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        if "\x00" in value or "\x00" in name:
            raise InvalidInput("a form field holds a NUL character", code=Code.INVALID_FIELD)
        fields.setdefault(name, []).append(value)
    return Form(fields)
