"""/user, its API tokens and its audit log."""

from __future__ import annotations

from ...domain.codes import Code
from ...domain.errors import Unauthenticated
from ...service import tokens
from ...service.audit import user_audit_log
from ...service.records import token_record, user_record
from ..deps import AccountPaging, AuditPaging, CurrentActor, Db
from ..envelope import ok, ok_page
from ..routing import api_router
from ..schemas.accounts import AuditLogOut, CreateToken, TokenCreatedOut, TokenOut, TokenVerifyOut, UserOut
from ..schemas.common import Envelope, IdResult
from ._common import ERRORS
from .audit import Filters, audit_record

router = api_router(tags=["User"], responses=ERRORS)


@router.get("/user", response_model=Envelope[UserOut])
def get_user(actor: CurrentActor) -> dict[str, object]:
    if actor.user is None:
        raise Unauthenticated("a user is required", code=Code.AUTHENTICATION_ERROR)
    return ok(user_record(actor.user))


@router.get("/user/tokens", response_model=Envelope[list[TokenOut]])
def list_tokens(db: Db, actor: CurrentActor, page: AccountPaging) -> dict[str, object]:
    return ok_page(tokens.list_tokens(db, actor, page), token_record)


@router.post("/user/tokens", response_model=Envelope[TokenCreatedOut])
def create_token(db: Db, actor: CurrentActor, body: CreateToken) -> dict[str, object]:
    """Create a token. Its `value` is shown in this response only."""
    token, value = tokens.create_token(
        db, actor, body.name, policies=body.policies, not_before=body.not_before, expires_on=body.expires_on
    )
    return ok({**token_record(token), "value": value})


@router.get("/user/tokens/verify", response_model=Envelope[TokenVerifyOut])
def verify_token(db: Db, actor: CurrentActor) -> dict[str, object]:
    t = token_record(tokens.verify_token(db, actor))
    return ok({k: t[k] for k in ("id", "status", "not_before", "expires_on")})


@router.get("/user/tokens/{token_id}", response_model=Envelope[TokenOut])
def get_token(db: Db, actor: CurrentActor, token_id: str) -> dict[str, object]:
    return ok(token_record(tokens.get_token(db, actor, token_id)))


@router.delete("/user/tokens/{token_id}", response_model=Envelope[IdResult])
def delete_token(db: Db, actor: CurrentActor, token_id: str) -> dict[str, object]:
    return ok({"id": tokens.delete_token(db, actor, token_id).id})


@router.get("/user/audit_logs", response_model=Envelope[list[AuditLogOut]])
def list_user_audit_logs(db: Db, actor: CurrentActor, page: AuditPaging, query: Filters) -> dict[str, object]:
    return ok_page(user_audit_log(db, actor, page, query), audit_record)
