"""Safe mode (安全模式): the AES envelope around pushes and passive replies, set up once per application.

WeChat encrypts a push's XML with the account's EncodingAESKey (AES-256-CBC) into an
``<Encrypt>`` element and signs the ciphertext (``msg_signature``: sha1 of the sorted token,
timestamp, nonce and ciphertext); a reply goes back in the same envelope. wechatpy's
``PrpCrypto`` does the AES framing (random prefix, length, appid, PKCS#7); one of it is kept
per application, and the signatures are checked and made here, once per message (the callback
compares ``msg_signature`` in constant time before anything is decrypted).
"""
from __future__ import annotations

import time

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner

_ENVELOPE = ("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature>"
             "<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")


def signature(*parts: str) -> str:
    """WeChat's signature: sha1 of the parts sorted and joined (token, timestamp, nonce[, ciphertext])."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


class SafeMode:
    """Decrypts pushes and encrypts replies for one official account (token, EncodingAESKey, appid)."""

    def __init__(self, token: str, aes_key: str, appid: str):
        key = WeChatCrypto(token, aes_key, appid).key  # refuses a key that is not 43 characters of base64
        self.token, self.appid = token, appid
        self._prp = PrpCrypto(key)

    def decrypt(self, encrypt: str) -> bytes:
        """The push's XML; raises wechatpy's InvalidAppIdException if it was encrypted for another account,
        and ValueError or binascii.Error for a ciphertext that is not one."""
        return self._prp.decrypt(encrypt, self.appid).encode("utf-8")

    def encrypt(self, xml: str, nonce: str, timestamp: str | None = None) -> str:
        """The reply envelope WeChat expects: the ciphertext, its signature, the timestamp and the push's nonce."""
        timestamp = timestamp or str(int(time.time()))
        encrypt = self._prp.encrypt(xml, self.appid).decode("ascii")
        return _ENVELOPE.format(encrypt=encrypt, signature=signature(self.token, timestamp, nonce, encrypt),
                                timestamp=timestamp, nonce=nonce)
