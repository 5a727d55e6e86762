"""The outbound side of the WeChat face: what the server sends to WeChat on its own.

The shared access token (``client``, ``token_store``), the menu, parametric QR
codes, the notification outbox as template messages, and campaign publicity
by mass send. The inbound callback reports WeChat's final results with
``record_template_result`` (TEMPLATESENDJOBFINISH) and ``record_mass_send_result``
(MASSSENDJOBFINISH).
"""
from __future__ import annotations

from .client import SharedTokenClient, client_from_config, get_client
from .jobs import deliver_outbox_job
from .mass_send import record_mass_send_result, send_publicity
from .outbox import deliver_outbox, record_template_result

__all__ = [
    "SharedTokenClient", "client_from_config", "deliver_outbox", "deliver_outbox_job", "get_client",
    "record_mass_send_result", "record_template_result", "send_publicity",
]
