"""Ordinary messages (they carry a MsgId): text commands, and a short answer to everything else."""
from __future__ import annotations

from .. import texts
from . import on_message
from .commands import run_text


@on_message("text")
def text(push) -> str:
    return run_text(push, push.field("Content"))


@on_message("voice")
def voice(push) -> str:
    """With speech recognition switched on, WeChat sends the words: treat them as a typed command."""
    recognition = push.field("Recognition").strip()
    if not recognition:
        return texts.VOICE_UNRECOGNISED
    return run_text(push, recognition)


@on_message("image")
def image(push) -> str:
    return texts.IMAGE


@on_message("video", "shortvideo")
def video(push) -> str:
    return texts.VIDEO


@on_message("location")
def location(push) -> str:
    """Nothing about where the resident is gets stored."""
    return texts.LOCATION


@on_message("link")
def link(push) -> str:
    return texts.LINK
