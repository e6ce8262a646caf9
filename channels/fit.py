"""Fitting a reply into a channel's limits without losing a word: the one place channels split text,
make button titles short, put a long caption aside and shorten a template parameter.

- :func:`split_text` cuts a text into pieces of at most ``limit`` at line ends; a single line longer
  than that is cut at a space, and only a "word" longer than the whole limit (a URL) is cut inside.
- :func:`short_titles` makes button titles of at most ``limit`` characters that still tell the
  choices apart: the bracketed code of a label ("Hari pertama haid terakhir (HPHT)" -> "HPHT"), else
  its first words, numbered when two would read the same; :func:`legend` lists the full labels of
  the shortened ones for the message text, so nothing is lost.
- :func:`caption_parts` gives a photo a short caption (the first line) when the text is too long
  for one; the rest goes as text after the photo.
- :func:`shorten_middle` keeps the first and the last lines of a text that must fit one template
  parameter (the last line of a reminder is the ``/berhenti`` opt-out), dropping lines from the middle.

Pure functions of text and numbers; ``measure`` counts what the provider counts (Telegram counts
UTF-16 code units, WhatsApp characters).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

Measure = Callable[[str], int]

ELLIPSIS = "\u2026"
_CODE = re.compile(r"\(([A-Z0-9][A-Z0-9 ./+-]*)\)\s*$")  # a label's bracketed code at its end: "(HPHT)", "(K-7QH)"
_BRACKETS = re.compile(r"\s*\([^()]*\)")


def split_text(text: str, limit: int, measure: Measure = len) -> list[str]:
    """``text`` as pieces of at most ``limit`` (by ``measure``), in order, cut at line ends.

    Blank lines at a cut are dropped; a line too long for one piece is cut between words.
    """
    if len(text) * 2 <= limit or measure(text) <= limit:
        return [text]
    pieces: list[str] = []
    lines: list[str] = []
    size = 0
    for line in text.split("\n"):
        for part in _split_line(line, limit, measure):
            cost = measure(part) + (1 if lines else 0)
            if lines and size + cost > limit:
                _flush(pieces, lines)
                lines, size, cost = [], 0, measure(part)
            lines.append(part)
            size += cost
    _flush(pieces, lines)
    return pieces or [""]


def _flush(pieces: list[str], lines: list[str]) -> None:
    piece = "\n".join(lines).strip("\n")
    if piece.strip():
        pieces.append(piece)


def _split_line(line: str, limit: int, measure: Measure) -> list[str]:
    """One line as parts of at most ``limit``, cut at spaces (a word longer than ``limit`` is cut inside)."""
    if measure(line) <= limit:
        return [line]
    parts: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if measure(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        if measure(word) <= limit:
            current = word
        else:
            *whole, current = _hard_cut(word, limit, measure)
            parts += whole
    if current:
        parts.append(current)
    return parts


def _hard_cut(word: str, limit: int, measure: Measure) -> list[str]:
    out: list[str] = []
    chars: list[str] = []
    size = 0
    for ch in word:
        width = measure(ch)
        if chars and size + width > limit:
            out.append("".join(chars))
            chars, size = [], 0
        chars.append(ch)
        size += width
    out.append("".join(chars))
    return out


# ------------------------------------------------------------------ button titles


def first_words(text: str, limit: int) -> str:
    """The first words of ``text`` that fit in ``limit`` characters (the first word cut if it alone is longer)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    out = ""
    for word in text.split(" "):
        candidate = f"{out} {word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    out = out.rstrip(" ,;:-(/")
    return out or text[:limit]


def _short(label: str, limit: int) -> str:
    """A label made short: its bracketed code if it has one that fits, else its first words."""
    code = _CODE.search(label)
    if code and len(code.group(1).strip()) <= limit:
        return code.group(1).strip()
    return first_words(_BRACKETS.sub("", label) or label, limit)


def short_titles(labels: Sequence[str], limit: int) -> list[str]:
    """Titles of at most ``limit`` characters for ``labels``, distinct (ignoring case), in order.

    A label that fits is kept; a longer one becomes its bracketed code or its first words; titles
    that would still read the same are numbered ("Ni Luh Putu 1", "Ni Luh Putu 2").
    """
    titles = [label if len(label) <= limit else _short(label, limit) for label in labels]
    if _distinct(titles):
        return titles
    seen: dict[str, list[int]] = {}
    for i, title in enumerate(titles):
        seen.setdefault(title.casefold(), []).append(i)
    for indexes in seen.values():
        if len(indexes) < 2:
            continue
        # the labels kept whole stay as they are (one at most); the shortened ones are numbered
        whole = [i for i in indexes if titles[i] == labels[i]][:1]
        for n, i in enumerate((i for i in indexes if i not in whole), 1):
            suffix = f" {n}"
            titles[i] = first_words(_BRACKETS.sub("", labels[i]) or labels[i], limit - len(suffix)) + suffix
    if _distinct(titles):
        return titles
    return [first_words(f"{n}. {label}", limit) for n, label in enumerate(labels, 1)]  # numbers tell them apart


def _distinct(titles: Sequence[str]) -> bool:
    return len({t.casefold() for t in titles}) == len(titles)


def legend(labels: Sequence[str], titles: Sequence[str]) -> str:
    """The full labels of the shortened titles, one per line (``title: label``); empty when none was shortened."""
    lines = []
    for label, title in zip(labels, titles):
        if title != label:
            full = _BRACKETS.sub("", label).strip() if _CODE.search(label) and title == _CODE.search(label).group(1).strip() else label
            lines.append(f"{title}: {full}")
    return "\n".join(lines)


def with_legend(text: str, labels: Sequence[str], titles: Sequence[str]) -> str:
    """``text`` followed by the :func:`legend` of the shortened titles (unchanged when none was)."""
    more = legend(labels, titles)
    return f"{text}\n\n{more}" if more else text


# ------------------------------------------------------------------ captions and template parameters


def caption_parts(text: str, limit: int, measure: Measure = len) -> tuple[str, str]:
    """(caption, rest): the whole text as the caption when it fits; else its first line (or first
    words) as a short caption and the rest to send as text after the photo."""
    if measure(text) <= limit:
        return text, ""
    first, _, rest = text.partition("\n")
    if measure(first) <= limit:
        return first, rest.strip("\n")
    head = _split_line(first, limit, measure)[0]
    return head, (first[len(head):].strip() + ("\n" + rest if rest else "")).strip("\n")


def shorten_middle(lines: Sequence[str], limit: int, marker: str, sep: str = " \u00b7 ") -> str:
    """``lines`` joined by ``sep`` in at most ``limit`` characters: the first and the last lines are
    kept, lines from the middle are dropped (from the end of the middle) and ``marker`` says so."""
    lines = [line for line in lines if line]
    whole = sep.join(lines)
    if len(whole) <= limit:
        return whole
    if len(lines) == 1:
        return first_words(lines[0], max(1, limit - len(ELLIPSIS))) + ELLIPSIS
    first, middle, last = lines[0], list(lines[1:-1]), lines[-1]
    budget = limit - len(sep) * 2 - len(marker)
    if len(last) > budget // 2:  # an overlong last line keeps its end (where an opt-out stands)
        last = ELLIPSIS + last[-(budget // 2 - 1):].lstrip()
    if len(first) + len(last) > budget:
        first = first_words(first, max(1, budget - len(last) - 1)) + ELLIPSIS
    kept = [first]
    for line in middle:
        if len(sep.join([*kept, line, marker, last])) > limit:
            break
        kept.append(line)
    return sep.join([*kept, marker, last])
