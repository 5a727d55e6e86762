"""Safe mode (安全模式): the AES envelope around pushes and passive replies, set up once per application.

WeChat encrypts a push's XML with the account's EncodingAESKey into an ``<Encrypt>``
element and signs the ciphertext (``msg_signature``: sha1 of the sorted token, timestamp,
nonce and ciphertext); a reply goes back in the same envelope. The framing, as WeChat
documents it: AES-256-CBC with the key's first 16 bytes as IV, over 16 random bytes, the
XML's length (4 bytes, big-endian), the XML and the appid, padded PKCS#7-style to 32-byte
blocks, in base64. The cipher is set up once per application; the callback compares
``msg_signature`` in constant time before anything is decrypted, once per message.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
_ENVELOPE = ("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature>"
             "<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")


class WrongAccount(ValueError):
    """The push was encrypted for another official account (its appid is not ours)."""


def signature(*parts: str) -> str:
    """WeChat's signature: sha1 of the parts sorted and joined (token, timestamp, nonce[, ciphertext])."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


class SafeMode:
    """Decrypts pushes and encrypts replies for one official account (token, EncodingAESKey, appid)."""

    def __init__(self, token: str, aes_key: str, appid: str):
        try:
            key = base64.b64decode(aes_key + "=", validate=True)
        except binascii.Error:
            raise ValueError("the EncodingAESKey is not base64") from None
        if len(aes_key) != 43 or len(key) != 32:
            raise ValueError("the EncodingAESKey must be 43 characters (32 bytes)")
        self.token, self.appid = token, appid
        self._appid = appid.encode("utf-8")
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def decrypt(self, encrypt: str) -> bytes:
        """The push's XML. Raises WrongAccount for another account's push, ValueError for a ciphertext that is not one."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except binascii.Error:
            raise ValueError("the ciphertext is not base64") from None
        if not data or len(data) % 16:
            raise ValueError("the ciphertext is not whole AES blocks")
        decryptor = self._cipher.decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or len(plain) < 20 + pad:
            raise ValueError("bad padding")
        content = plain[16:-pad]
        length = int.from_bytes(content[:4], "big")
        if length > len(content) - 4:
            raise ValueError("bad length")
        if content[4 + length:] != self._appid:
            raise WrongAccount("encrypted for another appid")
        return content[4:4 + length]

    def encrypt(self, xml: str, nonce: str, timestamp: str | None = None) -> str:
        """The reply envelope WeChat expects: the ciphertext, its signature, the timestamp and the push's nonce."""
        timestamp = timestamp or str(int(time.time()))
        text = xml.encode("utf-8")
        plain = secrets.token_hex(8).encode("ascii") + len(text).to_bytes(4, "big") + text + self._appid
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._cipher.encryptor()
        encrypt = base64.b64encode(encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()).decode("ascii")
        return _ENVELOPE.format(encrypt=encrypt, signature=signature(self.token, timestamp, nonce, encrypt),
                                timestamp=timestamp, nonce=nonce)
