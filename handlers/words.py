"""The words and commands every step understands, in Indonesian and English."""
from __future__ import annotations

from collections.abc import Iterator, Mapping

from handlers.flows import FLOWS

#: Global words: typed alone (with or without a leading slash) they work in every step.
GLOBAL_WORDS = {
    "batal": "cancel", "cancel": "cancel",
    "bantuan": "help", "help": "help", "tolong": "help",
    "berhenti": "stop", "stop": "stop",
    "bantuan catat": "help_catat", "help catat": "help_catat",
}
#: What ``/bantuan catat`` (help, then the word) opens: the ``catat`` cheat sheet.
HELP_TOPICS = {"catat": "help_catat", "/catat": "help_catat"}

#: Commands that are not a flow's: the word after "/" -> what it does (a flow's own words are in its
#: declaration, ``Flow.commands``).
ACTION_COMMANDS = {
    "start": "start", "mulai": "resume", "resume": "resume",
    "menu": "menu",
    "bahasa": "language", "language": "language",
    "kader": "kader_join", "gabung": "family_join", "join": "family_join",
    "izinkan": "link_allow", "allow": "link_allow", "tolak": "link_refuse", "refuse": "link_refuse",
    "terapkan": "import_apply", "apply": "import_apply", "batalimpor": "import_cancel", "cancelimport": "import_cancel",
    "staf": "staff_join", "staff": "staff_join",
    "urung": "undo", "undo": "undo",
    "batal": "cancel", "cancel": "cancel",
    "bantuan": "help", "help": "help",
    "berhenti": "stop", "stop": "stop",
}


class _Commands(Mapping[str, str]):
    """Every command: the word after "/" -> what it does; the flows' words read from the flow table now."""

    def _table(self) -> dict[str, str]:
        return {**{word: flow.name for flow in FLOWS.values() for word in flow.commands}, **ACTION_COMMANDS}

    def __getitem__(self, word: str) -> str:
        return self._table()[word]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


#: Commands: the word after "/" -> what it does.
COMMANDS: Mapping[str, str] = _Commands()


def flow_commands() -> frozenset[str]:
    """The flows a command opens from the main menu (they stay inside the current flow otherwise)."""
    return frozenset(flow.name for flow in FLOWS.values() if flow.commands)


def split_command(text: str) -> tuple[str | None, str]:
    """``("family", args)`` for ``/keluarga args`` (also ``/keluarga@IlpBot``); None when not a command."""
    if not text.startswith("/"):
        return None, text
    head, _, rest = text[1:].partition(" ")
    word = head.split("@", 1)[0].lower()
    command = COMMANDS.get(word, f"unknown:{word}")
    if command == "help" and rest.strip().lower() in HELP_TOPICS:
        return HELP_TOPICS[rest.strip().lower()], ""
    return command, rest.strip()


def global_word(text: str) -> str | None:
    """The global action of a message that is only a global word (``batal``, ``HELP``, ``bantuan catat``, ...)."""
    word = " ".join(text.lower().split()).rstrip("!.?")
    return GLOBAL_WORDS.get(word)
