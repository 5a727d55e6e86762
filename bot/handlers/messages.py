"""Ordinary messages (they carry a MsgId): text commands, and a short answer to everything else."""
from __future__ import annotations

from .. import texts


def text(push) -> str:
    return push.handlers.commands.run_text(push, push.field("Content"))


def voice(push) -> str:
    """With speech recognition switched on, WeChat sends the words: treat them as a typed command."""
    recognition = push.field("Recognition").strip()
    if not recognition:
        return texts.VOICE_UNRECOGNISED
    return push.handlers.commands.run_text(push, recognition)


def image(push) -> str:
    return texts.IMAGE


def video(push) -> str:
    return texts.VIDEO


def location(push) -> str:
    """Nothing about where the resident is gets stored."""
    return texts.LOCATION


def link(push) -> str:
    return texts.LINK


MESSAGES = {"text": text, "voice": voice, "image": image, "video": video, "shortvideo": video, "location": location,
            "link": link}
