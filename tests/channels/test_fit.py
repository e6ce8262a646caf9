"""Fitting replies into channel limits without losing a word (channels/fit.py), table-first."""
from __future__ import annotations

import pytest

from channels.fit import caption_parts, first_words, legend, short_titles, shorten_middle, split_text
from channels.telegram import utf16_len


def _words(pieces: list[str]) -> list[str]:
    return " ".join(pieces).split()


@pytest.mark.parametrize(
    ("text", "limit", "pieces"),
    [
        ("pendek", 10, ["pendek"]),
        ("satu\ndua\ntiga", 9, ["satu\ndua", "tiga"]),
        ("satu\n\n\ndua", 5, ["satu", "dua"]),  # blank lines at a cut are dropped
        ("aaa bbb ccc\n\nddd eee", 8, ["aaa bbb", "ccc", "ddd eee"]),  # a long line is cut at a space
        ("x" * 20, 8, ["x" * 8, "x" * 8, "x" * 4]),  # only a word longer than the limit is cut inside
        ("Baris 1\nBaris 2 agak panjang sekali\nBaris 3", 16, ["Baris 1", "Baris 2 agak", "panjang sekali", "Baris 3"]),
    ],
)
def test_split_text_cuts_at_line_ends_then_at_spaces(text, limit, pieces):
    assert split_text(text, limit) == pieces


@pytest.mark.parametrize("limit", [50, 200, 1024, 4096])
def test_split_text_keeps_every_word_in_order_within_the_limit(limit):
    lines = [f"\u2022 Anggota {i}: imunisasi DPT-HB-Hib {i % 4 + 1} (sampai {i % 28 + 1} Jan) " + "kata " * (i % 30) for i in range(300)]
    text = "\n".join(lines)
    pieces = split_text(text, limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert _words(pieces) == text.split()


def test_split_text_counts_what_the_provider_counts():
    text = "\U0001F600 senyum\n" * 1000  # an emoji counts two UTF-16 units on Telegram
    pieces = split_text(text, 4096, utf16_len)
    assert all(utf16_len(piece) <= 4096 for piece in pieces) and _words(pieces) == text.split()
    assert utf16_len(split_text(text, 4096)[0]) > 4096  # counted in characters, the first piece would be refused


@pytest.mark.parametrize(
    ("labels", "limit", "titles"),
    [
        (("Ya", "Tidak"), 20, ("Ya", "Tidak")),
        (("Hari pertama haid terakhir (HPHT)", "Perkiraan tanggal lahir (HPL)", "Usia kehamilan"), 20, ("HPHT", "HPL", "Usia kehamilan")),
        (("Posyandu Mawar Sari Kelurahan (Nagasepaha)", "Posyandu Melati"), 20, ("Posyandu Mawar Sari", "Posyandu Melati")),
        (("Ni Luh Putu Sari Dewi Anggraeni (Perempuan)", "Ni Luh Putu Sari Dewi Anggraeni (Laki)"), 20, ("Ni Luh Putu Sari 1", "Ni Luh Putu Sari 2")),
        (("Imunisasi dasar lengkap bayi", "Imunisasi dasar lengkap baduta", "Imunisasi"), 20, ("Imunisasi dasar 1", "Imunisasi dasar 2", "Imunisasi")),
        (("Pemeriksaankehamilanlengkapsekali",), 20, ("Pemeriksaankehamilan",)),
    ],
)
def test_short_titles_are_short_distinct_and_readable(labels, limit, titles):
    got = short_titles(labels, limit)
    assert tuple(got) == titles
    assert all(len(t) <= limit for t in got) and len({t.casefold() for t in got}) == len(got)


def test_the_legend_writes_out_each_shortened_label_once():
    labels = ["Hari pertama haid terakhir (HPHT)", "Usia kehamilan", "Ni Luh Putu Sari Dewi Anggraeni (Perempuan)"]
    titles = short_titles(labels, 20)
    assert legend(labels, titles).splitlines() == [
        "HPHT: Hari pertama haid terakhir",
        "Ni Luh Putu Sari: Ni Luh Putu Sari Dewi Anggraeni (Perempuan)",
    ]
    assert legend(["Ya", "Tidak"], ["Ya", "Tidak"]) == ""


@pytest.mark.parametrize(
    ("text", "caption", "rest"),
    [
        ("Grafik pertumbuhan", "Grafik pertumbuhan", ""),
        ("Posyandu Mawar, November 2026\n" + "Baris laporan\n" * 100, "Posyandu Mawar, November 2026", ("Baris laporan\n" * 100).strip()),
    ],
)
def test_a_caption_too_long_keeps_its_first_line_and_the_rest_goes_as_text(text, caption, rest):
    assert caption_parts(text, 1024) == (caption, rest)


def test_a_caption_whose_first_line_is_too_long_is_cut_between_words():
    text = "kata " * 300 + "\nbaris dua"
    caption, rest = caption_parts(text, 1024)
    assert len(caption) <= 1024 and (caption + " " + rest).split() == text.split()


@pytest.mark.parametrize("limit", [120, 300, 900])
def test_shorten_middle_keeps_the_first_and_last_lines(limit):
    lines = ["Pengingat untuk keluarga Komang:"] + [f"Anak {i}: imunisasi MR 2 (sampai 5 Jan)" for i in range(40)] + ["Berhenti: /berhenti."]
    text = shorten_middle(lines, limit, "\u2026")
    assert len(text) <= limit
    assert text.startswith("Pengingat untuk keluarga Komang:") and text.endswith("\u2026 \u00b7 Berhenti: /berhenti.")
    assert shorten_middle(lines[:3], 900, "\u2026") == " \u00b7 ".join(lines[:3])  # what fits is not touched


def test_shorten_middle_keeps_the_end_of_an_overlong_last_line():
    text = shorten_middle(["Judul", "tengah", "x " * 600 + "/berhenti"], 300, "\u2026")
    assert len(text) <= 300 and text.startswith("Judul") and text.endswith("/berhenti")


@pytest.mark.parametrize(("text", "limit", "out"), [("Pilih", 20, "Pilih"), ("Pilih salah satu pilihan", 12, "Pilih salah"), ("Supercalifragilistik", 5, "Super")])
def test_first_words(text, limit, out):
    assert first_words(text, limit) == out
