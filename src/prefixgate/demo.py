"""The docs' example as demo data: Account A owns an approved 1.2.3.0/24; Account B; one user in both."""

from __future__ import annotations

import secrets

from .domain.errors import Conflict
from .service import identity, prefixes, sessions, tokens
from .service.context import Actor
from .service.ports import Database

__all__ = ["DEMO_EMAIL", "load_demo"]

DEMO_EMAIL = "demo@example.com"
DEMO_PREFIX = "1.2.3.0/24"


def load_demo(db: Database, *, base_url: str) -> str:
    """Load the demo once (later runs reuse it) and return how to log in, with a fresh token and password."""
    cli = Actor.cli()
    with db.read() as uow:
        user = uow.users.by_email(DEMO_EMAIL)
    api_key = None
    if user is None:
        user, api_key = identity.create_user(db, cli, DEMO_EMAIL, password=None, operator=True)
        a = identity.create_account(db, cli, "Account A", owner_email=DEMO_EMAIL)
        identity.create_account(db, cli, "Account B", owner_email=DEMO_EMAIL)
        try:
            p = prefixes.create_prefix(db, cli, a.id, DEMO_PREFIX, asn=13335, description="docs example")
            prefixes.approve_prefix(db, cli, p.id)
        except Conflict:  # 1.2.3.0/24 already onboarded by some other account in this database
            pass
    _, value = tokens.create_token(db, cli, "demo", user=user)
    password = secrets.token_urlsafe(12)  # a new one on every run: only this run's output knows it
    sessions.set_password(db, cli, DEMO_EMAIL, password)
    with db.read() as uow:
        accounts = uow.members.for_user(user.id)
        names = {m.account_id: (acct.name if (acct := uow.accounts.get(m.account_id)) else "?") for m in accounts}
    lines = [
        "prefixgate demo data",
        f"  user:       {DEMO_EMAIL} (operator; member of Account A and Account B)",
        *(f"  account:    {name}  id={aid}" for aid, name in sorted(names.items(), key=lambda kv: kv[1])),
        f"  prefix:     {DEMO_PREFIX} in Account A, approved",
        f"  dashboard:  {base_url.removesuffix('/client/v4')}/  (email {DEMO_EMAIL}, password {password})",
        f"  API token:  {value}",
    ]
    if api_key:
        lines.append(f"  global key: {api_key}  (X-Auth-Email: {DEMO_EMAIL})")
    lines += [
        "Try:",
        f"  curl -s -H 'Authorization: Bearer {value}' {base_url}/accounts",
    ]
    return "\n".join(lines)
