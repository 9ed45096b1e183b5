"""The Audit log page's read model (service/audit_view.py): actor labels, paging, the actions offered."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from prefixgate.domain.model import AuditEvent
from prefixgate.service.audit_view import AUDIT_ACTIONS, AuditRow, AuditView

SERVICE = Path(__file__).resolve().parents[2] / "src" / "prefixgate" / "service"


def event(**changes: object) -> AuditEvent:
    values: dict[str, object] = {
        "id": "e" * 32,
        "owner_id": "a" * 32,
        "owner_kind": "account",
        "when": datetime(2026, 1, 1, tzinfo=UTC),
        "actor_id": "u" * 32,
        "actor_email": "alice@example.com",
        "actor_type": "user",
        "actor_ip": None,
        "interface": "UI",
        "action": "prefix.created",
        "resource_type": "prefix",
        "resource_id": "p" * 32,
        "old_value": None,
        "new_value": None,
    }
    values.update(changes)
    return AuditEvent(**values)  # type: ignore[arg-type]


def test_the_actor_is_the_email_when_the_log_shows_it() -> None:
    assert AuditRow(event()).actor == "alice@example.com"


def test_a_copy_in_another_account_names_the_actor_by_id_only() -> None:
    assert AuditRow(event(actor_email=None)).actor == "u" * 32


def test_the_cli_operator_is_named_operator() -> None:
    assert AuditRow(event(actor_email=None, actor_id=None, actor_type="admin", interface="CLI")).actor == "operator"


def test_the_resource_is_its_type_and_id() -> None:
    assert AuditRow(event()).resource == "prefix " + "p" * 32


@pytest.mark.parametrize(
    ("page", "pages", "previous", "following"),
    [(1, 1, None, None), (1, 3, None, 2), (2, 3, 1, 3), (3, 3, 2, None), (9, 3, 3, None)],
)
def test_previous_and_next(page: int, pages: int, previous: int | None, following: int | None) -> None:
    # Past the last page, Previous leads back to the last one.
    view = AuditView(rows=[], total=pages * 50, page=page, pages=pages, action="", actions=AUDIT_ACTIONS)
    assert (view.previous_page, view.next_page) == (previous, following)


def _service_strings() -> set[str]:
    found: set[str] = set()
    for path in SERVICE.glob("*.py"):
        if path.name == "audit_view.py":  # the list itself
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_the_filter_offers_every_action_the_services_record_in_account_logs() -> None:
    """Each "<resource>.<verb>" string in the service layer whose resource the list knows is offered,
    and every offered action is one the services write (a new verb cannot be forgotten)."""
    kinds = {a.partition(".")[0] for a in AUDIT_ACTIONS}
    pattern = re.compile(r"^(" + "|".join(sorted(kinds)) + r")\.[a-z_]+$")
    recorded = {s for s in _service_strings() if pattern.match(s)}
    assert recorded == set(AUDIT_ACTIONS)
    assert len(AUDIT_ACTIONS) == len(set(AUDIT_ACTIONS))


def test_token_and_sign_in_events_are_not_offered_they_go_to_the_users_own_log() -> None:
    assert not [a for a in AUDIT_ACTIONS if a.startswith(("token.", "user."))]
