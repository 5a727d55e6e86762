"""Sign-in: staff with a password, residents with a WeChat OAuth code."""
from __future__ import annotations

from carbon_credit.errors import ResidentInactive
from carbon_credit.residents import register_resident
from carbon_credit.timeutil import utcnow

from ..auth import auth_required, authenticate_staff, current_principal, issue_resident_token, issue_staff_token
from ..errors import ErrorSchema
from ..extensions import db
from ..inputs import Blueprint
from ..schemas.auth import PrincipalSchema, StaffLoginSchema, TokenSchema, WeChatCodeSchema
from ..wechat_oauth import exchange_code

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign-in and bearer tokens")


@blp.post("/token")
@blp.arguments(StaffLoginSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Unknown username or wrong password (code invalid_credentials)")
def staff_token(credentials):
    """Sign in a community worker or admin; use the token as `Authorization: Bearer …`."""
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
