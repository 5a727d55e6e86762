"""Paging SQL queries with flask-smorest's pagination (``page``/``page_size`` in, X-Pagination out)."""
from __future__ import annotations

from carbon_credit.reporting.history import page_of

from ..extensions import db

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def paged(query, pagination_parameters, scalars: bool = True) -> list:
    """The requested page of ``query``; records the total so the X-Pagination header can say it."""
    rows, total = page_of(db.session, query, pagination_parameters.page, pagination_parameters.page_size)
    pagination_parameters.item_count = total
    return [row[0] for row in rows] if scalars else rows
