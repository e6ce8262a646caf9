"""A pytest plugin: no phone number or NIK may reach the logs, in any test or in any bot subprocess.

For the whole session a handler at DEBUG on the root logger writes every record (with its traceback)
to ``<pytest tmp>/log-scan/session.log``, each line tagged with the test that was running. The
project's own loggers (``handlers``, ``channels``, ``reminders``, ...) are opened to DEBUG for the
session, so their debug and info lines are written too; other libraries keep their levels. Records
pass the project's :class:`logs.RedactingFilter` first, exactly as in production (``logs.setup_logging``
puts it on the handler), so what is scanned is what a deployment would write. ``LOG_SCAN_RAW=1``
scans the records before redaction instead, to find code that logs a number and relies on the filter.

At the end of the session that file and every log of a bot subprocess of this session
(``tests/channels/telegram_bot.py`` writes ``ilpbot-test-<pid>-<port>.log`` into the temp directory)
are scanned for Indonesian mobile numbers (``0812 3456 7890``, ``+62 812-3456-7890``, ``6281234567890``,
with or without spaces and dashes) and NIK (16 digits whose date part is a date, whole or in groups of
4 or 6-6-4). Each finding is printed with its file, line, test and a masked excerpt, and the session
fails (exit status 1). Telegram ids, update ids, ports and timestamps do not count: a number must start
like a phone (0 8, 62 8, +62 8) and have 9-12 digits after the 0/62, or be a NIK with a plausible date.

Registered from ``tests/conftest.py`` with ``pytest_plugins = ["tests.log_scan"]``.
"""
from __future__ import annotations

import copy
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The project's packages whose loggers are opened to DEBUG for the session.
PROJECT_LOGGERS = ("bot", "config", "logs", "care", "content", "handlers", "channels", "reminders", "db", "web")

#: A mobile number: 0 / 62 / +62, then 8 and 8-11 more digits, single spaces or dashes between them.
PHONE = re.compile(r"(?<![\w+\-.])(?:\+62[ -]?|62[ -]?|0)8(?:[ -]?\d){8,11}(?![\w-])")
#: A NIK: 16 digits, whole or as 4-4-4-4 or 6-6-4 groups.
NIK = re.compile(r"(?<![\w+\-.])(?:\d{16}|\d{4}(?:[ .-]\d{4}){3}|\d{6}[ .-]\d{6}[ .-]\d{4})(?![\w-])")
#: Province codes of Kemendagri (the first two digits of a NIK).
PROVINCES = {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
             71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96, 97}


def is_nik(digits: str) -> bool:
    """Whether 16 digits are shaped like a NIK: a province, then a birth day (+40 for women) and month."""
    day, month = int(digits[6:8]), int(digits[8:10])
    return int(digits[:2]) in PROVINCES and (1 <= day <= 31 or 41 <= day <= 71) and 1 <= month <= 12


def findings(line: str) -> list[tuple[str, re.Match]]:
    """(kind, match) of every phone number and NIK in one line of a log."""
    found = [("phone", m) for m in PHONE.finditer(line)]
    found += [("NIK", m) for m in NIK.finditer(line) if is_nik(re.sub(r"\D", "", m.group()))]
    return found


def mask(text: str) -> str:
    """A number with all but its first two and last two digits starred."""
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    hide = set(digits[2:-2])
    return "".join("*" if i in hide else ch for i, ch in enumerate(text))


def excerpt(line: str, match: re.Match, width: int = 50) -> str:
    """The text around a finding, the finding masked and any other number in the excerpt masked too."""
    before = line[max(0, match.start() - width):match.start()]
    after = line[match.end():match.end() + width]
    clean = lambda part: re.sub(r"\d{6,}", lambda m: mask(m.group()), part)  # noqa: E731
    return f"{clean(before)}[{mask(match.group())}]{clean(after)}".replace("\n", " ")


class ScanHandler(logging.Handler):
    """Writes each record (redacted as in production, unless raw) to the session's log file."""

    def __init__(self, path: Path, *, raw: bool) -> None:
        super().__init__(level=logging.DEBUG)
        from logs import RedactingFilter

        self.path = path
        self.raw = raw
        self.redact = RedactingFilter()
        self.test = "-"
        self._stream = path.open("a", encoding="utf-8")
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record = copy.copy(record)  # never change what the other handlers (caplog) see
            if not self.raw:
                self.redact.filter(record)
            text = self.format(record)
            self._stream.write(f"[{self.test}] {text}\n")
            self._stream.flush()
        except Exception:  # pragma: no cover - logging must never break a test
            self.handleError(record)

    def close(self) -> None:
        self._stream.close()
        super().close()


@dataclass
class _Session:
    handler: ScanHandler
    levels: dict[str, int]
    started: float
    before: dict[Path, int]  # sizes of bot logs of this pid that already existed


_state: _Session | None = None


def active_handler() -> ScanHandler | None:
    """The session's scanning handler (None when the plugin is not registered)."""
    return _state.handler if _state else None


def _bot_logs() -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob(f"ilpbot-test-{os.getpid()}-*.log"))


def pytest_sessionstart(session: pytest.Session) -> None:
    global _state
    factory = getattr(session.config, "_tmp_path_factory", None)  # what the tmp_path_factory fixture gives
    folder = factory.mktemp("log-scan", numbered=True) if factory else Path(tempfile.mkdtemp(prefix="log-scan-"))
    path = folder / "session.log"
    handler = ScanHandler(path, raw=os.environ.get("LOG_SCAN_RAW", "") not in ("", "0"))
    levels = {}
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        levels[name] = logger.level
        if logger.getEffectiveLevel() > logging.DEBUG:
            logger.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    _state = _Session(handler, levels, time.time(), {p: p.stat().st_size for p in _bot_logs()})


def pytest_runtest_logstart(nodeid: str, location) -> None:
    if _state:
        _state.handler.test = nodeid


def pytest_runtest_logfinish(nodeid: str, location) -> None:
    if _state:
        _state.handler.test = "-"


def _scan(path: Path, offset: int = 0) -> tuple[list[str], int]:
    """(a description of every finding, the number of lines) of one log file from ``offset`` bytes on."""
    out, number = [], 0
    test = "-"
    with path.open("rb") as f:
        f.seek(offset)
        for number, raw in enumerate(f, 1):
            line = raw.decode("utf-8", "replace")
            if line.startswith("[") and "] " in line:
                test = line[1:line.index("] ")]  # a traceback's lines belong to the record above them
            for kind, match in findings(line):
                out.append(f"{path.name}:{number} ({test}): {kind}: {excerpt(line, match)}")
    return out, number


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _state
    if _state is None:
        return
    state, _state = _state, None
    logging.getLogger().removeHandler(state.handler)
    state.handler.close()
    for name, level in state.levels.items():
        logging.getLogger(name).setLevel(level)
    problems, lines = _scan(state.handler.path)
    logs = [log for log in _bot_logs() if log in state.before or log.stat().st_mtime >= state.started - 1]
    for log in logs:
        found, count = _scan(log, state.before.get(log, 0))
        problems += found
        lines += count
    global _summary
    if not problems:
        _summary = [f"log scan: {lines} log lines ({len(logs)} bot logs) hold no phone number or NIK"]
        return
    _summary = [f"log scan: {len(problems)} phone number(s) or NIK reached the logs ({state.handler.path}):"]
    _summary += ["  " + line for line in problems[:50]]
    if len(problems) > 50:
        _summary.append(f"  ... and {len(problems) - 50} more")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


_summary: list[str] = []


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    for i, line in enumerate(_summary):
        failed = len(_summary) > 1
        terminalreporter.write_line(line, red=failed and i == 0, bold=failed and i == 0)
