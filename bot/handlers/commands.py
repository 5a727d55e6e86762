"""The resident's commands, reachable by text (with synonyms) and by menu CLICK keys.

Text is NFKC-normalised first, so full-width letters, digits and punctuation
(ＢＡＬＡＮＣＥ, １２３, ？) read like their half-width forms; spaces and case
do not matter. A command that takes an argument (``绑卡 <卡号>``) matches its
word followed by the argument.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable

from .. import texts

COMMANDS: dict[str, "Command"] = {}
WORDS: dict[str, "Command"] = {}
CLICKS: dict[str, "Command"] = {}
_SPACES = re.compile(r"\s+")
_TRAILING = "?!.,~。！？，、…"


@dataclass(frozen=True)
class Command:
    name: str
    fn: Callable  # fn(push, argument) -> reply text
    words: tuple[str, ...]
    takes_argument: bool


def command(name: str, *, click: str | None = None, takes_argument: bool = False):
    """Register a command under its words (texts.COMMAND_WORDS[name]) and its menu key."""
    words = texts.COMMAND_WORDS[name]

    def wrap(fn):
        cmd = Command(name, fn, words, takes_argument)
        COMMANDS[name] = cmd
        for word in words:
            WORDS[normalise(word)] = cmd
        if click:
            CLICKS[click] = cmd
        return fn

    return wrap


def normalise(text: str) -> str:
    """NFKC, lower case, no spaces, no trailing punctuation (a lone "?" stays)."""
    compact = _SPACES.sub("", unicodedata.normalize("NFKC", text or "")).lower()
    stripped = compact.rstrip(_TRAILING)
    return stripped or compact


def match_text(text: str) -> tuple[Command, str] | None:
    """The command a text names and its argument, or None."""
    compact = normalise(text)
    if compact in WORDS:
        return WORDS[compact], ""
    for word, cmd in WORDS.items():
        if cmd.takes_argument and compact.startswith(word) and len(compact) > len(word):
            return cmd, compact[len(word):]
    return None


def run_text(push, text: str) -> str:
    found = match_text(text)
    if found is None:
        return texts.UNKNOWN_TEXT
    cmd, argument = found
    return cmd.fn(push, argument)


def run_click(push, key: str) -> str:
    cmd = CLICKS.get((key or "").strip().upper())
    if cmd is None:
        return texts.UNKNOWN_CLICK
    return cmd.fn(push, "")


# The command modules register themselves.
from . import account_commands, card_commands, community_commands  # noqa: E402,F401
