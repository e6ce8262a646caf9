"""The words and commands every step understands, in Indonesian and English."""
from __future__ import annotations

#: Global words: typed alone (with or without a leading slash) they work in every step.
GLOBAL_WORDS = {
    "batal": "cancel", "cancel": "cancel",
    "bantuan": "help", "help": "help", "tolong": "help",
    "berhenti": "stop", "stop": "stop",
    "bantuan catat": "help_catat", "help catat": "help_catat",
}
#: What ``/bantuan catat`` (help, then the word) opens: the ``catat`` cheat sheet.
HELP_TOPICS = {"catat": "help_catat", "/catat": "help_catat"}

#: Commands: the word after "/" -> what it does.
COMMANDS = {
    "start": "start", "mulai": "resume", "resume": "resume",
    "menu": "menu",
    "daftar": "register", "register": "register",
    "keluarga": "family", "family": "family",
    "lahir": "birth", "birth": "birth", "kelahiran": "birth",
    "bahasa": "language", "language": "language",
    "hapus": "erase", "delete": "erase",
    "jadwal": "schedule", "schedule": "schedule",
    "kunjungan": "visit", "visit": "visit",
    "daftarkan": "register_other", "newfamily": "register_other",
    "sasaran": "targets", "targets": "targets",
    "grafik": "chart", "chart": "chart",
    "kader": "kader_join", "gabung": "family_join", "join": "family_join",
    "izinkan": "link_allow", "allow": "link_allow", "tolak": "link_refuse", "refuse": "link_refuse",
    "staf": "staff_join", "staff": "staff_join",
    "undang": "invite", "invite": "invite",
    "umumkan": "broadcast", "broadcast": "broadcast",
    "status": "status",
    "laporan": "report", "report": "report", "ekspor": "export", "export": "export",
    "jadwalposyandu": "posyandu_days", "posyandudays": "posyandu_days",
    "urung": "undo", "undo": "undo",
    "riwayat": "history", "history": "history",
    "rujukan": "referrals", "referrals": "referrals", "referral": "referrals",
    "pengingat": "reminders", "reminders": "reminders", "reminder": "reminders",
    "imunisasi": "immunization", "imunization": "immunization", "immunization": "immunization",
    "immunisation": "immunization", "vaksin": "immunization", "vaccines": "immunization",
    "batal": "cancel", "cancel": "cancel",
    "bantuan": "help", "help": "help",
    "berhenti": "stop", "stop": "stop",
}

#: Words that open a flow from the main menu; they stay inside the current flow otherwise.
FLOW_COMMANDS = {"register", "family", "birth", "erase", "schedule", "immunization", "reminders", "visit", "register_other", "targets", "chart", "invite", "broadcast", "status", "posyandu_days", "report", "export", "history", "referrals"}


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
