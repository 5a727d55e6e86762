"""QR check-ins: a scanned scene goes to the domain's scene registry; the result becomes the reply."""
from __future__ import annotations

import logging

from carbon_credit.errors import DomainError
from carbon_credit.ledger.points import balance_summary
from carbon_credit.scans import scan_scene
from carbon_credit.scenes import ScanResult
from carbon_credit.texts import ERROR_TEXTS, error_text

from .. import texts

log = logging.getLogger(__name__)


def check_in(push, resident, scene: str) -> str:
    """Record the check-in (idempotent per day in the domain) and say how it went."""
    try:
        with push.session.begin_nested():
            result = scan_scene(push.session, resident, scene, push.now)
    except DomainError as error:
        log.info("wechat check-in refused: %s", error.code)
        result = ScanResult(ok=False, code=error.code)
    if result.ok and result.balance is None:
        result.balance = balance_summary(push.session, resident.id, push.now).points
    return scan_text(result)


def scan_text(result: ScanResult) -> str:
    template = texts.SCAN_RESULTS.get(result.code)
    if template is None and result.code in ERROR_TEXTS:  # a refusal without a scan-specific sentence
        return error_text(result.code)
    if template is None:
        log.warning("no reply text for check-in result %r", result.code)
        return texts.SCAN_RESULT_OTHER
    return template.format(title=result.title or texts.SCAN_TITLE_FALLBACK, points=result.points,
                           balance=result.balance if result.balance is not None else "—")
