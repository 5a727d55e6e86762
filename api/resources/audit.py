"""The audit log: who changed which rule, adjusted which balance, approved which evidence."""
from __future__ import annotations

from carbon_credit.reporting.history import audit_query

from ..auth import auth_required
from ..inputs import Blueprint
from ..schemas.staff import AuditEntrySchema, AuditQuerySchema
from .paging import MAX_PAGE_SIZE, PAGE_SIZE, paged

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit-log", description="The audit log (admins)")


@blp.get("")
@auth_required("admin")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditEntrySchema(many=True))
@blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def audit_log(filters, pagination_parameters):
    """Entries newest first, filtered by verb (e.g. `rule_set.activate`), target and actor."""
    return paged(audit_query(**filters), pagination_parameters)
