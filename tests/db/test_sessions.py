"""Dashboard sign-in through the service layer on a real database (service/sessions.py and
adapters/db/repos/web.py), on SQLite and PostgreSQL: passwords, sessions, and the failed-login throttle."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from prefixgate.adapters.db.tables import login_failures, web_sessions
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.codes import Code
from prefixgate.domain.errors import AccessDenied, InvalidInput, RateLimited, Unauthenticated
from prefixgate.domain.model import AuditQuery, PageRequest
from prefixgate.domain.sessions import LoginFailures, LoginPolicy, after_failure
from prefixgate.service import audit, identity, sessions
from prefixgate.service.context import Actor, utcnow
from prefixgate.service.credentials import digest
from prefixgate.service.sessions import SessionPolicy
from tests.support import fresh_database_url, migrated_database

CLI = Actor.cli()
POLICY = SessionPolicy(
    idle=timedelta(hours=1),
    login=LoginPolicy(max_failures=3, window=timedelta(minutes=15), cooldown=timedelta(minutes=5)),
)


@pytest.fixture(scope="module")
def db(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlDatabase]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("sessions"))) as url:
        database = migrated_database(url)
        yield database
        database.dispose()


def person(db: SqlDatabase, label: str = "user") -> tuple[str, str]:
    """A new user with a password: (email, password)."""
    email = f"{label}-{secrets.token_hex(4)}@example.com"
    identity.create_user(db, CLI, email, password=None, operator=False)
    password = secrets.token_urlsafe(12)
    sessions.set_password(db, CLI, email, password)
    return email, password


def fresh_ip() -> str:
    return f"198.51.100.{secrets.randbelow(250) + 1}-{secrets.token_hex(3)}"  # a key no other test shares


def failures(db: SqlDatabase, key: str) -> LoginFailures | None:
    with db.read() as uow:
        return uow.login_failures.get(key)


def session_count(db: SqlDatabase, user_id: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(web_sessions.c.user_id == user_id)).scalar_one())


def user_id_of(db: SqlDatabase, email: str) -> str:
    with db.read() as uow:
        user = uow.users.by_email(email)
    assert user is not None
    return user.id


def end_cool_down(db: SqlDatabase, key: str) -> None:
    """Time passes: the cool-down under `key` ended a moment ago."""
    entry = failures(db, key)
    assert entry is not None and entry.locked_until is not None
    with db.write() as uow:
        uow.login_failures.put(
            LoginFailures(entry.key, entry.failures, entry.first_at, utcnow() - timedelta(seconds=1))
        )
        uow.commit()


# --- signing in and sessions ----------------------------------------------------------------------------------


def test_a_right_password_opens_a_session_the_cookie_finds_again(db: SqlDatabase) -> None:
    email, password = person(db)
    ip = fresh_ip()
    signed = sessions.login(db, email, password, ip=ip, policy=POLICY)
    assert signed.actor.user is not None and signed.actor.user.email == email
    assert signed.actor.interface == "UI" and signed.actor.ip == ip
    # Only the cookie's digest is stored; the cookie and the CSRF token are long random values.
    assert signed.session.id == digest(signed.cookie) != signed.cookie
    assert len(signed.cookie) >= 40 and len(signed.session.csrf_token) >= 40
    assert signed.session.expires_at == signed.session.created_at + POLICY.idle
    with db.read() as uow:
        assert uow.sessions.get(digest(signed.cookie)) == signed.session
        assert uow.sessions.get(signed.cookie) is None
    session, actor = sessions.session_actor(db, signed.cookie, ip=ip, policy=POLICY)
    assert session == signed.session
    assert actor.user == signed.actor.user
    log = audit.user_audit_log(db, actor, PageRequest(), AuditQuery(action="user.login"))
    assert [(e.action, e.interface, e.actor_ip) for e in log.items] == [("user.login", "UI", ip)]


def test_the_email_is_matched_without_case_or_surrounding_spaces(db: SqlDatabase) -> None:
    email, password = person(db)
    signed = sessions.login(db, f"  {email.upper()} ", password, ip=fresh_ip(), policy=POLICY)
    assert signed.actor.user is not None and signed.actor.user.email == email


@pytest.mark.parametrize("wrong", ["wrong-password", "", "x" * 5000])
def test_a_wrong_password_is_refused_and_opens_no_session(db: SqlDatabase, wrong: str) -> None:
    email, _ = person(db)
    with pytest.raises(Unauthenticated, match=r"^wrong email or password$") as info:
        sessions.login(db, email, wrong, ip=fresh_ip(), policy=POLICY)
    assert info.value.code == Code.AUTHENTICATION_ERROR
    assert session_count(db, user_id_of(db, email)) == 0


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(db: SqlDatabase) -> None:
    with pytest.raises(Unauthenticated, match=r"^wrong email or password$"):
        sessions.login(db, "nobody-here@example.com", "whatever-it-is", ip=fresh_ip(), policy=POLICY)
    with pytest.raises(Unauthenticated, match=r"^wrong email or password$"):
        sessions.login(db, "", "whatever-it-is", ip=fresh_ip(), policy=POLICY)


def test_a_user_without_a_password_cannot_sign_in(db: SqlDatabase) -> None:
    email = f"nopw-{secrets.token_hex(4)}@example.com"
    identity.create_user(db, CLI, email, password=None, operator=False)
    with pytest.raises(Unauthenticated):
        sessions.login(db, email, "", ip=fresh_ip(), policy=POLICY)


@pytest.mark.parametrize("cookie", ["", "not-a-session", "x" * 201, "é" * 10])
def test_an_unknown_cookie_is_no_session(db: SqlDatabase, cookie: str) -> None:
    with pytest.raises(Unauthenticated, match="session has ended"):
        sessions.session_actor(db, cookie, ip=None, policy=POLICY)


def test_an_expired_session_is_refused(db: SqlDatabase) -> None:
    email, password = person(db)
    signed = sessions.login(db, email, password, ip=fresh_ip(), policy=POLICY)
    past = utcnow() - timedelta(seconds=1)
    with db.write() as uow:
        uow.sessions.touch(signed.session.id, past - timedelta(hours=1), past)
        uow.commit()
    with pytest.raises(Unauthenticated, match="session has ended"):
        sessions.session_actor(db, signed.cookie, ip=None, policy=POLICY)


def test_a_session_used_again_after_a_while_is_extended(db: SqlDatabase) -> None:
    email, password = person(db)
    signed = sessions.login(db, email, password, ip=fresh_ip(), policy=POLICY)
    earlier = utcnow() - timedelta(minutes=30)
    with db.write() as uow:
        uow.sessions.touch(signed.session.id, earlier, earlier + POLICY.idle)
        uow.commit()
    before = utcnow()
    sessions.session_actor(db, signed.cookie, ip=None, policy=POLICY)
    with db.read() as uow:
        now_stored = uow.sessions.get(signed.session.id)
    assert now_stored is not None
    assert now_stored.last_seen_at >= before
    assert now_stored.expires_at >= before + POLICY.idle


def test_expired_sessions_are_swept_at_the_next_sign_in(db: SqlDatabase) -> None:
    email, password = person(db)
    old = sessions.login(db, email, password, ip=fresh_ip(), policy=POLICY)
    past = utcnow() - timedelta(seconds=1)
    with db.write() as uow:
        uow.sessions.touch(old.session.id, past, past)
        uow.commit()
    sessions.login(db, email, password, ip=fresh_ip(), policy=POLICY)
    with db.read() as uow:
        assert uow.sessions.get(old.session.id) is None


def test_the_permissions_are_read_at_every_request(db: SqlDatabase) -> None:
    email, password = person(db)
    account = identity.create_account(db, CLI, "Sessions A")  # no Administrator: the member may go
    member = identity.add_member(db, CLI, account.id, email, ["IP Prefixes: Read"])
    signed = sessions.login(db, email, password, ip=fresh_ip(), policy=POLICY)
    assert signed.actor.is_member(account.id)
    identity.delete_member(db, CLI, account.id, member.id)
    _, actor = sessions.session_actor(db, signed.cookie, ip=None, policy=POLICY)
    assert not actor.is_member(account.id)


def test_logout_deletes_the_session(db: SqlDatabase) -> None:
    email, password = person(db)
    keep = sessions.login(db, email, password, ip=fresh_ip(), policy=POLICY)
    end = sessions.login(db, email, password, ip=fresh_ip(), policy=POLICY)
    sessions.logout(db, end.cookie)
    with db.read() as uow:
        assert uow.sessions.get(end.session.id) is None
    with pytest.raises(Unauthenticated):
        sessions.session_actor(db, end.cookie, ip=None, policy=POLICY)
    sessions.session_actor(db, keep.cookie, ip=None, policy=POLICY)  # the user's other session lives on
    sessions.logout(db, end.cookie)  # twice, or an unknown cookie: nothing happens
    sessions.logout(db, "")


# --- passwords ----------------------------------------------------------------------------------------------------


def test_set_password_ends_every_session_and_the_old_password(db: SqlDatabase) -> None:
    email, old = person(db)
    first = sessions.login(db, email, old, ip=fresh_ip(), policy=POLICY)
    second = sessions.login(db, email, old, ip=fresh_ip(), policy=POLICY)
    user_id = user_id_of(db, email)
    assert session_count(db, user_id) == 2
    sessions.set_password(db, CLI, email.upper(), "a brand new password")
    assert session_count(db, user_id) == 0
    for signed in (first, second):
        with pytest.raises(Unauthenticated):
            sessions.session_actor(db, signed.cookie, ip=None, policy=POLICY)
    with pytest.raises(Unauthenticated):
        sessions.login(db, email, old, ip=fresh_ip(), policy=POLICY)
    sessions.login(db, email, "a brand new password", ip=fresh_ip(), policy=POLICY)
    log = audit.user_audit_log(db, first.actor, PageRequest(), AuditQuery(action="user.password_set"))
    assert log.total == 2 and {e.interface for e in log.items} == {"CLI"}


@pytest.mark.parametrize("bad", ["", "short", "1234567", "x" * 1025])
def test_set_password_refuses_a_password_out_of_bounds_and_keeps_the_old_one(db: SqlDatabase, bad: str) -> None:
    email, password = person(db)
    signed = sessions.login(db, email, password, ip=fresh_ip(), policy=POLICY)
    with pytest.raises(InvalidInput, match="a password has 8 to 1024 characters"):
        sessions.set_password(db, CLI, email, bad)
    sessions.session_actor(db, signed.cookie, ip=None, policy=POLICY)  # nothing ended
    sessions.login(db, email, password, ip=fresh_ip(), policy=POLICY)


def test_set_password_accepts_the_bounds(db: SqlDatabase) -> None:
    email, _ = person(db)
    for good in ("12345678", "y" * 1024):
        sessions.set_password(db, CLI, email, good)
        sessions.login(db, email, good, ip=fresh_ip(), policy=POLICY)


def test_set_password_of_an_unknown_user_is_refused(db: SqlDatabase) -> None:
    with pytest.raises(InvalidInput, match="no user has email") as info:
        sessions.set_password(db, CLI, "ghost@example.com", "long enough password")
    assert info.value.code == Code.UNKNOWN_USER


def test_only_operators_set_passwords(db: SqlDatabase) -> None:
    email, password = person(db)
    victim, _ = person(db, "victim")
    actor = sessions.login(db, email, password, ip=fresh_ip(), policy=POLICY).actor
    with pytest.raises(AccessDenied):
        sessions.set_password(db, actor, victim, "taken over password")


def test_create_user_applies_the_same_password_rule(db: SqlDatabase) -> None:
    email = f"short-{secrets.token_hex(4)}@example.com"
    with pytest.raises(InvalidInput, match="a password has 8 to 1024 characters"):
        identity.create_user(db, CLI, email, password="short", operator=False)
    with db.read() as uow:
        assert uow.users.by_email(email) is None  # nothing stored
    identity.create_user(db, CLI, email, password="long enough", operator=False)
    sessions.login(db, email, "long enough", ip=fresh_ip(), policy=POLICY)


# --- the failed-login throttle ------------------------------------------------------------------------------------


def test_failures_are_counted_per_email_and_per_client_address(db: SqlDatabase) -> None:
    email, _ = person(db)
    ip = fresh_ip()
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            sessions.login(db, email, "wrong password", ip=ip, policy=POLICY)
    by_email, by_ip = failures(db, f"email:{email}"), failures(db, f"ip:{ip}")
    assert by_email is not None and (by_email.failures, by_email.locked_until) == (2, None)
    assert by_ip is not None and by_ip.failures == 2


def test_no_client_address_counts_per_email_only(db: SqlDatabase) -> None:
    email, _ = person(db)
    with pytest.raises(Unauthenticated):
        sessions.login(db, email, "wrong password", ip=None, policy=POLICY)
    entry = failures(db, f"email:{email}")
    assert entry is not None and entry.failures == 1
    assert failures(db, "ip:None") is None


def test_an_email_is_locked_after_the_limit_from_any_address_even_with_the_right_password(db: SqlDatabase) -> None:
    email, password = person(db)
    for _ in range(3):  # three addresses: the count is the account's
        with pytest.raises(Unauthenticated):
            sessions.login(db, email, "wrong password", ip=fresh_ip(), policy=POLICY)
    for attempt in ("wrong password", password):
        with pytest.raises(RateLimited, match=r"^too many failed logins; try again in \d+ seconds$") as info:
            sessions.login(db, email, attempt, ip=fresh_ip(), policy=POLICY)
        assert 299 <= info.value.retry_after_s <= 300
        assert info.value.code == Code.RATE_LIMITED
    assert session_count(db, user_id_of(db, email)) == 0
    entry = failures(db, f"email:{email}")
    assert entry is not None and entry.failures == 3  # refused attempts are not counted again


def test_a_client_address_is_locked_after_the_limit_across_emails(db: SqlDatabase) -> None:
    ip = fresh_ip()
    for i in range(3):
        with pytest.raises(Unauthenticated):
            sessions.login(db, f"guess-{i}-{secrets.token_hex(3)}@example.com", "pw-guess", ip=ip, policy=POLICY)
    email, password = person(db)  # someone else, whose own count is clean, from that address
    with pytest.raises(RateLimited):
        sessions.login(db, email, password, ip=ip, policy=POLICY)
    sessions.login(db, email, password, ip=fresh_ip(), policy=POLICY)  # from another address: fine


def test_logins_work_again_after_the_cool_down_and_the_count_restarts(db: SqlDatabase) -> None:
    email, password = person(db)
    ip = fresh_ip()
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            sessions.login(db, email, "wrong password", ip=ip, policy=POLICY)
    with pytest.raises(RateLimited):
        sessions.login(db, email, password, ip=ip, policy=POLICY)
    end_cool_down(db, f"email:{email}")
    end_cool_down(db, f"ip:{ip}")
    with pytest.raises(Unauthenticated):  # one more failure after the cool-down starts a new count ...
        sessions.login(db, email, "wrong password", ip=ip, policy=POLICY)
    entry = failures(db, f"email:{email}")
    assert entry is not None and (entry.failures, entry.locked_until) == (1, None)
    sessions.login(db, email, password, ip=ip, policy=POLICY)  # ... and does not lock


def test_a_success_clears_the_emails_count_but_not_the_addresss(db: SqlDatabase) -> None:
    # Signing in to one's own account must not reset a count an address ran up guessing at others.
    email, password = person(db)
    ip = fresh_ip()
    with pytest.raises(Unauthenticated):
        sessions.login(db, email, "wrong password", ip=ip, policy=POLICY)
    with pytest.raises(Unauthenticated):
        sessions.login(db, f"other-{secrets.token_hex(3)}@example.com", "guess", ip=ip, policy=POLICY)
    sessions.login(db, email, password, ip=ip, policy=POLICY)
    assert failures(db, f"email:{email}") is None
    by_ip = failures(db, f"ip:{ip}")
    assert by_ip is not None and by_ip.failures == 2


def test_a_very_long_email_or_address_is_counted_under_a_bounded_key(db: SqlDatabase) -> None:
    ip = "x" * 400  # a forwarded-for value from a trusted proxy could be anything
    with pytest.raises(Unauthenticated):
        sessions.login(db, "e" * 1000 + "@example.com", "guess", ip=ip, policy=POLICY)
    with db.engine.connect() as conn:
        keys = [k for (k,) in conn.execute(select(login_failures.c.key)) if k.startswith(("email:eee", "ip:xxx"))]
    assert len(keys) == 2 and all(len(k) <= 320 for k in keys)


def test_lock_creates_a_zero_count_and_put_replaces_it(db: SqlDatabase) -> None:
    key = f"email:lock-{secrets.token_hex(4)}@example.com"
    now = utcnow()
    with db.write() as uow:
        entry = uow.login_failures.lock(key, now)
        assert (entry.key, entry.failures, entry.locked_until) == (key, 0, None)
        uow.login_failures.put(after_failure(entry, key, now, POLICY.login))
        again = uow.login_failures.lock(key, now)  # an existing row is kept as it is
        assert again.failures == 1
        uow.commit()
    with db.write() as uow:
        uow.login_failures.clear(key)
        uow.commit()
    assert failures(db, key) is None


def test_concurrent_failures_are_all_counted(db: SqlDatabase) -> None:
    """Failed logins racing from many threads: each is counted once, none lost (lock() serialises the
    read-modify-write on PostgreSQL with SELECT ... FOR UPDATE; SQLite has one writer at a time)."""
    n = 24 if db.postgres else 8
    email, _ = person(db)
    ip = fresh_ip()
    policy = SessionPolicy(login=LoginPolicy(max_failures=1000))
    barrier = threading.Barrier(n)

    def attempt(_: int) -> str:
        barrier.wait(timeout=30)
        try:
            sessions.login(db, email, "wrong password", ip=ip, policy=policy)
        except Unauthenticated:
            return "refused"
        return "signed in"

    with ThreadPoolExecutor(n) as pool:
        outcomes = list(pool.map(attempt, range(n)))
    assert outcomes == ["refused"] * n
    for key in (f"email:{email}", f"ip:{ip}"):
        entry = failures(db, key)
        assert entry is not None and entry.failures == n, key


def test_concurrent_increments_through_the_repository_are_all_counted(db: SqlDatabase) -> None:
    """The same race without the password check in between: every transaction reaches lock() together."""
    n = 24 if db.postgres else 8
    key = f"ip:race-{secrets.token_hex(4)}"
    barrier = threading.Barrier(n)

    def increment(_: int) -> None:
        barrier.wait(timeout=30)
        now = utcnow()
        with db.write() as uow:
            entry = uow.login_failures.lock(key, now)
            uow.login_failures.put(after_failure(entry, key, now, LoginPolicy(max_failures=1000)))
            uow.commit()

    with ThreadPoolExecutor(n) as pool:
        list(pool.map(increment, range(n)))
    entry = failures(db, key)
    assert entry is not None and entry.failures == n
