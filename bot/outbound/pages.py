"""Links to the residents' H5 pages, the way WeChat opens them: through its web OAuth (snsapi_base).

A menu button or a reply sends the resident to WeChat's authorise URL, which
comes back to the pages' callback (``/h5/oauth``) with a code and ``next`` naming
the page. The state ``menu`` is not bound to a browser session, so the callback
signs the resident in again with a state of its own before trusting a code.
"""
from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
LINK_STATE = "menu"
# The pages a menu button or a reply may open: name -> path under /h5/.
PAGES = {"home": "", "history": "history", "rewards": "rewards", "campaigns": "campaigns", "cards": "cards",
         "appliances": "appliances", "declare": "declare", "privacy": "privacy"}


def page_link(h5_url: str, appid: str, page: str) -> str:
    """WeChat's authorise URL that ends on ``page`` of the H5 pages served under ``h5_url``."""
    base = h5_url if h5_url.endswith("/") else h5_url + "/"
    callback = f"{base}oauth?" + urlencode({"next": urlsplit(base).path + PAGES[page]})
    return (f"{AUTHORIZE_URL}?appid={appid}&redirect_uri={quote(callback, safe='')}"
            f"&response_type=code&scope=snsapi_base&state={LINK_STATE}#wechat_redirect")
