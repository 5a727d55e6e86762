"""The bot's tables: message type, event and command word to the handler that answers.

Handler modules only define handlers and list them (``COMMANDS``, ``MESSAGES``,
``EVENTS``); importing them registers nothing. ``bot.handlers.build_handlers``
assembles one ``HandlerTable`` per application, which ``bot.register`` keeps on
the application and the callback hands to each push.

Command text is NFKC-normalised first, so full-width letters, digits and
punctuation (ＢＡＬＡＮＣＥ, １２３, ？) read like their half-width forms; spaces
and case do not matter. A command that takes an argument (``绑卡 <卡号>``)
matches its word followed by the argument.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .. import texts

_SPACES = re.compile(r"\s+")
_TRAILING = "?!.,~。！？，、…"


@dataclass(frozen=True)
class Command:
    name: str
    fn: Callable  # fn(push, argument) -> reply text
    words: tuple[str, ...]
    takes_argument: bool = False
    click: str | None = None  # the menu button's key
    # read(push, argument) -> reply text, or None to go the ordinary way (fn): a command that only reads
    # answers the usual case with one statement outside any transaction and never registers anyone.
    read: Callable | None = None


def command(name: str, fn: Callable, *, click: str | None = None, takes_argument: bool = False,
            read: Callable | None = None) -> Command:
    """A command answering to its words (texts.COMMAND_WORDS[name]) and its menu key."""
    return Command(name, fn, tuple(texts.COMMAND_WORDS[name]), takes_argument, click, read)


def normalise(text: str) -> str:
    """NFKC, lower case, no spaces, no trailing punctuation (a lone "?" stays)."""
    compact = _SPACES.sub("", unicodedata.normalize("NFKC", text or "")).lower()
    stripped = compact.rstrip(_TRAILING)
    return stripped or compact


class CommandTable:
    """Commands by name, by normalised word and by menu key; a word or key used twice is refused."""

    def __init__(self, commands: Iterable[Command]):
        self.by_name: dict[str, Command] = {}
        self.words: dict[str, Command] = {}
        self.clicks: dict[str, Command] = {}
        for cmd in commands:
            self._add(cmd)

    def _add(self, cmd: Command) -> None:
        _claim(self.by_name, cmd.name, cmd, "command")
        for word in cmd.words:
            _claim(self.words, normalise(word), cmd, "command word")
        if cmd.click:
            _claim(self.clicks, cmd.click, cmd, "menu key")

    def match_text(self, text: str) -> tuple[Command, str] | None:
        """The command a text names and its argument, or None."""
        compact = normalise(text)
        if compact in self.words:
            return self.words[compact], ""
        for word, cmd in self.words.items():
            if cmd.takes_argument and compact.startswith(word) and len(compact) > len(word):
                return cmd, compact[len(word):]
        return None

    def run_text(self, push, text: str) -> str:
        found = self.match_text(text)
        if found is None:
            return texts.UNKNOWN_TEXT
        cmd, argument = found
        return cmd.fn(push, argument)

    def match_click(self, key: str) -> Command | None:
        return self.clicks.get((key or "").strip().upper())

    def run_click(self, push, key: str) -> str:
        cmd = self.match_click(key)
        if cmd is None:
            return texts.UNKNOWN_CLICK
        return cmd.fn(push, "")


def _claim(table: dict, key: str, cmd: Command, what: str) -> None:
    if key in table and table[key] is not cmd:
        raise ValueError(f"{what} {key!r} of {cmd.name!r} is already taken by {table[key].name!r}")
    table[key] = cmd


@dataclass
class HandlerTable:
    """One application's handlers: by message type and by event (lower case), and the commands."""

    commands: CommandTable
    messages: dict[str, Callable] = field(default_factory=dict)  # handler(push) -> reply or None
    events: dict[str, Callable] = field(default_factory=dict)
    # Events whose handling changes nothing and says nothing: a retry is harmless, so no de-dup write.
    stateless: frozenset[str] = frozenset()

    def __post_init__(self):
        self.events = {name.lower(): handler for name, handler in self.events.items()}
        self.stateless = frozenset(name.lower() for name in self.stateless)

    def needs_dedupe(self, raw: dict) -> bool:
        """False for events that neither write nor answer, so a retry of them needs no memory."""
        return not (raw.get("MsgType") == "event" and str(raw.get("Event") or "").lower() in self.stateless)
