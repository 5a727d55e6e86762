"""Sign-in: staff with a password, residents with a WeChat OAuth code."""
from __future__ import annotations

from carbon_credit.errors import ResidentInactive
from carbon_credit.residents.accounts import register_resident
from carbon_credit.staff.accounts import change_own_password, sign_out_staff
from carbon_credit.timeutil import utcnow

from ..auth import (
    auth_required,
    authenticate_staff,
    check_password,
    current_principal,
    hash_password,
    issue_resident_token,
    issue_staff_token,
)
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.auth import PasswordChangeSchema, PrincipalSchema, StaffLoginSchema, TokenSchema, WeChatCodeSchema
from ..wechat_oauth import exchange_code

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign-in and bearer tokens")


@blp.post("/token")
@blp.arguments(StaffLoginSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Unknown username or wrong password (code invalid_credentials)")
@blp.alt_response(429, schema=ErrorSchema, headers={"Retry-After": {"description": "Seconds to wait",
                                                                   "schema": {"type": "integer"}}},
                  description="Too many attempts for this username or from this address "
                              "(code too_many_sign_in_attempts)")
def staff_token(credentials):
    """Sign in a community worker or admin; use the token as `Authorization: Bearer …`.

    Attempts are limited per username and per address (`SIGN_IN_MAX_PER_ACCOUNT`,
    `SIGN_IN_MAX_PER_ADDRESS` per `SIGN_IN_WINDOW_SECONDS`); over a limit the answer is 429
    with `Retry-After`, whatever the password.
    """
    staff = authenticate_staff(db.session, credentials["username"], credentials["password"])
    return issue_staff_token(staff)


@blp.post("/wechat")
@blp.arguments(WeChatCodeSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(400, schema=ErrorSchema, description="WeChat refused the code (code wechat_oauth_failed)")
@blp.alt_response(409, schema=ErrorSchema, description="The resident account is blocked (code resident_inactive)")
@blp.alt_response(502, schema=ErrorSchema, description="WeChat could not be reached (code wechat_unavailable)")
@blp.alt_response(503, schema=ErrorSchema, description="WeChat sign-in is not configured on this server (code wechat_not_configured)")
def wechat_token(body):
    """Sign in a resident from an H5 page: exchange the snsapi_base OAuth code for a token.

    A first-time visitor is registered with an empty points account.
    """
    identity = exchange_code(body["code"])
    resident = register_resident(db.session, identity.openid, utcnow(), unionid=identity.unionid)
    db.session.commit()
    if resident.status != "active":
        raise ResidentInactive()
    return issue_resident_token(resident)


@blp.get("/me")
@auth_required()
@blp.response(200, PrincipalSchema)
def whoami():
    """Who the token belongs to, and which communities a worker may act in."""
    return current_principal()


@blp.post("/logout")
@auth_required("worker", "admin")
@blp.response(204)
def staff_logout():
    """Sign out everywhere: every token of this staff member is refused from now on, on every server."""
    sign_out_staff(db.session, utcnow(), current_principal().id)
    db.session.commit()


@blp.post("/password")
@auth_required("worker", "admin")
@blp.arguments(PasswordChangeSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(422, schema=ErrorSchema, description="wrong_password, or the new password breaks the policy "
                                                       "(at least 10 characters, not the username)")
def change_password(body):
    """Change my password (the current one is required). Every earlier token is revoked; use the new one."""
    staff = change_own_password(db.session, utcnow(), current_principal().id, body["old_password"],
                                body["new_password"], check_password=check_password, hash_password=hash_password)
    db.session.commit()
    return issue_staff_token(staff)
