"""Fast entry: one typed line -> FastEntry, or an error naming exactly the part not understood."""
from __future__ import annotations

import dataclasses

import pytest

from care.labels import DOSE_LABELS
from handlers.fast_entry import (
    IRON,
    VITAMIN_A,
    DoseTextError,
    FastEntry,
    FastEntryError,
    MemberRef,
    ServiceWordError,
    dose_entries,
    looks_like_fast_entry,
    parse_fast_entry,
    read_services,
)

CODE = "K-7QX2MA"
CHILD2 = MemberRef("child_index", 2)


def entry(**fields) -> FastEntry:
    """The expected entry for family CODE and the 2nd child unless told otherwise."""
    return FastEntry(**{"family_code": CODE, "member": CHILD2, **fields})


def test_the_example_line():
    got = parse_fast_entry("catat K-7QX2MA anak2 bb 8,2 tb 71 l imun dpt2 pcv2 opv3")
    assert got == entry(weight_kg=8.2, length_cm=71.0, measured="l", doses=("DPT_HB_HIB2", "PCV2", "OPV3"))


def test_entry_is_frozen():
    got = parse_fast_entry("catat K-7QX2MA anak2 bb 8")
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.weight_kg = 9  # type: ignore[misc]


@pytest.mark.parametrize(
    "line",
    [
        "catat K-7QX2MA anak2 bb 8,2 tb 71 l imun dpt2 pcv2 opv3",
        "catat K-7QX2MA anak2 bb 8.2 tb 71 l imun dpt2 pcv2 opv3",
        "catat K-7QX2MA imun dpt2 pcv2 opv3 tb 71 l bb 8,2 anak2",
        "catat K-7QX2MA tb 71 l anak2 imun dpt2 pcv2 opv3 bb 8.2",
        "CATAT k-7qx2ma ANAK2 BB 8,2 TB 71 L IMUN DPT2 PCV2 OPV3",
        "/catat k7qx2ma anak 2 bb 8,2 tb 71 l imun dpt2 pcv2 opv3",
        "/catat@IlpBot K-7QX2MA anak2 bb 8,2 tb 71 l imun dpt2 pcv2 opv3",
        "catat K- 7QX2MA anak2 bb 8,2 tb 71 l imun dpt2 pcv2 opv3",
        "catat K-7QX2MA anak2 bb8,2 tb71l imun dpt2,pcv2,opv3",
        "catat K-7QX2MA, anak2, bb 8,2 kg, tb 71 cm l, imun dpt2, pcv2, opv3.",
        "catat K-7QX2MA anak-2 bb:8,2 tb=71 berbaring imun:dpt2 pcv 2 opv 3",
        "catat K-7QX2MA anak ke-2 bb 8,2kg pb 71cm imun dpt-hb-hib2 pcv2 polio3",
        "  catat   K-7QX2MA  anak ke 2   bb 8,20  pb 71,0 imun DPT-HB-Hib 2 + pcv2 + opv3  ",
        "catat K-7QX2MA anak kedua bb 8,2 pb 71 imun penta2 pcv2 bopv3",
    ],
)
def test_same_visit_written_many_ways(line):
    assert parse_fast_entry(line) == entry(weight_kg=8.2, length_cm=71.0, measured="l",
                                           doses=("DPT_HB_HIB2", "PCV2", "OPV3"))


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        ("catat K-7QX2MA anak2 bb 8,2", {"weight_kg": 8.2}),
        ("catat K-7QX2MA anak2 bb 12", {"weight_kg": 12.0}),
        ("catat K-7QX2MA anak2 tb 95", {"length_cm": 95.0, "measured": "h"}),
        ("catat K-7QX2MA anak2 tb 71 l", {"length_cm": 71.0, "measured": "l"}),
        ("catat K-7QX2MA anak2 tb 71 berbaring", {"length_cm": 71.0, "measured": "l"}),
        ("catat K-7QX2MA anak2 tb 95 berdiri", {"length_cm": 95.0, "measured": "h"}),
        ("catat K-7QX2MA anak2 tb 95,5 h", {"length_cm": 95.5, "measured": "h"}),
        ("catat K-7QX2MA anak2 pb 71", {"length_cm": 71.0, "measured": "l"}),
        ("catat K-7QX2MA anak2 pb 71 h", {"length_cm": 71.0, "measured": "h"}),
        ("catat K-7QX2MA anak2 pb 71h", {"length_cm": 71.0, "measured": "h"}),
        ("catat K-7QX2MA anak2 lk 44,5", {"head_cm": 44.5}),
        ("catat K-7QX2MA anak2 lila 14.2 cm", {"muac_cm": 14.2}),
        ("catat K-7QX2MA anak2 vita", {"vitamin_a": True}),
        ("catat K-7QX2MA anak2 vit a", {"vitamin_a": True}),
        ("catat K-7QX2MA anak2 Vitamin A", {"vitamin_a": True}),
        ("catat K-7QX2MA anak2 vit.a", {"vitamin_a": True}),
        ("catat K-7QX2MA ibu td 120/80", {"member": MemberRef("mother"), "bp": (120, 80)}),
        ("catat K-7QX2MA ibu td 120 / 80 mmHg", {"member": MemberRef("mother"), "bp": (120, 80)}),
        ("catat K-7QX2MA ibu td 120-80", {"member": MemberRef("mother"), "bp": (120, 80)}),
        ("catat K-7QX2MA ibu td 120 - 80 mmhg", {"member": MemberRef("mother"), "bp": (120, 80)}),
        ("Catat K-7QX2MA anak2 BB 8,9 kg, TB 72,5 cm.", {"member": MemberRef("child_index", 2), "weight_kg": 8.9,
                                                        "length_cm": 72.5, "measured": "h"}),
        ("catat K-7QX2MA ibu td 135/ 85", {"member": MemberRef("mother"), "bp": (135, 85)}),
        ("catat K-7QX2MA ibu td120/80mmhg", {"member": MemberRef("mother"), "bp": (120, 80)}),
        ("catat K-7QX2MA ibu gd 110", {"member": MemberRef("mother"), "glucose": 110.0}),
        ("catat K-7QX2MA ibu gds 142 mg/dl", {"member": MemberRef("mother"), "glucose": 142.0}),
        ("catat K-7QX2MA ibu lp 84,5", {"member": MemberRef("mother"), "waist_cm": 84.5}),
        ("catat K-7QX2MA ibu ttd 30", {"member": MemberRef("mother"), "iron_tablets": 30}),
        ("catat K-7QX2MA ibu ttd 30 tablet", {"member": MemberRef("mother"), "iron_tablets": 30}),
        ("catat K-7QX2MA ibu anc 3", {"member": MemberRef("mother"), "anc_contact": 3}),
        ("catat K-7QX2MA ibu anc ke-4", {"member": MemberRef("mother"), "anc_contact": 4}),
        ("catat K-7QX2MA ibu anc k5", {"member": MemberRef("mother"), "anc_contact": 5}),
        ("catat K-7QX2MA bumil lila 22,5", {"member": MemberRef("mother"), "muac_cm": 22.5}),
        ("catat K-7QX2MA anak2 catatan Demam 2 hari, sudah ke bidan",
         {"note": "Demam 2 hari, sudah ke bidan"}),
        ("catat K-7QX2MA anak2 catatan: bb 9 kata ibu", {"note": "bb 9 kata ibu"}),
        ("catat K-7QX2MA anak2 catatan:rewel", {"note": "rewel"}),
        ("catat K-7QX2MA nama:Putu bb 8", {"member": MemberRef("name", "Putu"), "weight_kg": 8.0}),
        ("catat K-7QX2MA nama: Putu bb 8", {"member": MemberRef("name", "Putu"), "weight_kg": 8.0}),
        ("catat K-7QX2MA nama Lila bb 8", {"member": MemberRef("name", "Lila"), "weight_kg": 8.0}),
        ("catat K-7QX2MA Putu bb 8", {"member": MemberRef("name", "Putu"), "weight_kg": 8.0}),
        ("catat K-7QX2MA bb 8 Ni-Luh", {"member": MemberRef("name", "Ni-Luh"), "weight_kg": 8.0}),
        ("catat K-7QX2MA anak1 bb 8", {"member": MemberRef("child_index", 1), "weight_kg": 8.0}),
        ("catat K-7QX2MA anak 12 bb 8", {"member": MemberRef("child_index", 12), "weight_kg": 8.0}),
        ("catat K-7QX2MA anak pertama bb 8", {"member": MemberRef("child_index", 1), "weight_kg": 8.0}),
        ("catat K-7QX2MA anak ketiga bb 8", {"member": MemberRef("child_index", 3), "weight_kg": 8.0}),
        ("catat K-7QX2MA anak2 imun bcg hb0", {"doses": ("BCG", "HB0")}),
        ("catat K-7QX2MA anak2 imunisasi je", {"doses": ("JE",)}),
    ],
)
def test_every_keyword(line, fields):
    assert parse_fast_entry(line) == entry(**fields)


def test_everything_at_once():
    line = ("catat k7qx2ma ibu bb 58,5 lila 24 td 110/70 gd 95 lp 82 ttd 30 anc 4 vita "
            "catatan mual pagi hari")
    assert parse_fast_entry(line) == entry(
        member=MemberRef("mother"), weight_kg=58.5, muac_cm=24.0, bp=(110, 70), glucose=95.0,
        waist_cm=82.0, iron_tablets=30, anc_contact=4, vitamin_a=True, note="mual pagi hari")


def test_child_everything_at_once():
    line = "catat K-7QX2MA anak1 bb 10,4 tb 80,5 l lk 46 lila 14,5 vita imun mr1 opv4 ipv2"
    assert parse_fast_entry(line) == entry(
        member=MemberRef("child_index", 1), weight_kg=10.4, length_cm=80.5, measured="l",
        head_cm=46.0, muac_cm=14.5, vitamin_a=True, doses=("MR1", "OPV4", "IPV2"))


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("dpt1", "DPT_HB_HIB1"), ("dpt2", "DPT_HB_HIB2"), ("dpt4", "DPT_HB_HIB4"), ("dtp2", "DPT_HB_HIB2"),
        ("dpt-hb-hib2", "DPT_HB_HIB2"), ("DPT-HB-Hib3", "DPT_HB_HIB3"), ("dpthb1", "DPT_HB_HIB1"), ("dpthbhib3", "DPT_HB_HIB3"),
        ("penta3", "DPT_HB_HIB3"), ("pentavalen1", "DPT_HB_HIB1"), ("dpt_hb_hib4", "DPT_HB_HIB4"), ("penta2", "DPT_HB_HIB2"),
        ("pcv1", "PCV1"), ("pcv2", "PCV2"), ("pcv3", "PCV3"),
        ("opv1", "OPV1"), ("opv4", "OPV4"), ("polio3", "OPV3"), ("bopv2", "OPV2"), ("bopv1", "OPV1"),
        ("ipv1", "IPV1"), ("ipv2", "IPV2"),
        ("rv1", "RV1"), ("rv3", "RV3"), ("rota2", "RV2"), ("rotavirus1", "RV1"), ("rota1", "RV1"),
        ("mr1", "MR1"), ("mr2", "MR2"), ("campak1", "MR1"), ("campak2", "MR2"), ("mr lanjutan", "MR2"),
        ("bcg", "BCG"), ("BCG", "BCG"), ("bcg1", "BCG"), ("hb0", "HB0"), ("hb-0", "HB0"), ("hepb0", "HB0"), ("hbo", "HB0"),
        ("je", "JE"), ("je1", "JE"),
        ("dpt", "DPT_HB_HIB*"), ("campak", "MR*"), ("pcv", "PCV*"), ("polio", "OPV*"),  # the next dose not recorded
    ],
)
def test_dose_words_of_the_one_vocabulary(word, code):
    assert parse_fast_entry(f"catat K-7QX2MA anak2 imun {word}").doses == (code,)


@pytest.mark.parametrize("word", ["dpt5", "dpt0", "pcv4", "opv5", "ipv3", "rv4", "mr3", "hb1", "bcg2", "je2", "hib2",
                                  "vaksin", "dtx2"])
def test_not_doses(word):
    with pytest.raises(FastEntryError) as info:
        parse_fast_entry(f"catat K-7QX2MA anak2 imun {word}")
    assert (info.value.part, info.value.code) == (word, "dose")


def test_every_dose_code_of_the_schedule_can_be_typed():
    words = ["hb0", "bcg", "je"] + [f"{stem}{n}" for stem, top in [("opv", 4), ("dpt", 4), ("pcv", 3), ("rv", 3), ("ipv", 2),
                                                                     ("mr", 2)] for n in range(1, top + 1)]
    assert set(parse_fast_entry("catat K-7QX2MA anak2 imun " + " ".join(words)).doses) == set(DOSE_LABELS)


# --------------------------------------------------------------------------- doses given on earlier dates

@pytest.mark.parametrize(
    ("line", "doses", "dates"),
    [
        ("imun dpt1 12-10-2026", ("DPT_HB_HIB1",), (("DPT_HB_HIB1", "12-10-2026"),)),
        ("imun dpt1 pcv1 12-10-2026", ("DPT_HB_HIB1", "PCV1"), (("DPT_HB_HIB1", "12-10-2026"), ("PCV1", "12-10-2026"))),
        ("imun pcv1 okt 2026", ("PCV1",), (("PCV1", "okt 2026"),)),
        ("imun bcg sudah", ("BCG",), (("BCG", "sudah"),)),
        ("imun bcg tidak ingat", ("BCG",), (("BCG", "tidak ingat"),)),
        ("imun dpt 1 12 Okt 2026", ("DPT_HB_HIB1",), (("DPT_HB_HIB1", "12 Okt 2026"),)),
        ("imun dpt 1 okt 2026", ("DPT_HB_HIB1",), (("DPT_HB_HIB1", "okt 2026"),)),
        ("imun hb0 kemarin bcg", ("HB0", "BCG"), (("HB0", "kemarin"),)),
        ("imun dpt1 12-10-2026, bcg sudah; mr1", ("DPT_HB_HIB1", "BCG", "MR1"), (("DPT_HB_HIB1", "12-10-2026"), ("BCG", "sudah"))),
        ("imun dpt1 12-10-2026 pcv1 okt 2026 bcg sudah opv2", ("DPT_HB_HIB1", "PCV1", "BCG", "OPV2"),
         (("DPT_HB_HIB1", "12-10-2026"), ("PCV1", "okt 2026"), ("BCG", "sudah"))),
        ("imun:dpt1 2026-10-12", ("DPT_HB_HIB1",), (("DPT_HB_HIB1", "2026-10-12"),)),
    ],
)
def test_doses_with_when_they_were_given(line, doses, dates):
    got = parse_fast_entry(f"catat K-7QX2MA anak2 {line} bb 8")
    assert (got.doses, got.dose_dates, got.weight_kg) == (doses, dates, 8.0)


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("dpt1 pcv1 12-10-2026, bcg sudah mr1", [(("DPT_HB_HIB1", "PCV1"), "12-10-2026"), (("BCG",), "sudah"), (("MR1",), "")]),
        ("dpt 2 pcv 2", [(("DPT_HB_HIB2", "PCV2"), "")]),
        ("hepatitis b 0 kemarin", [(("HB0",), "kemarin")]),
        ("mr lanjutan sudah", [(("MR2",), "sudah")]),
        ("bcg March 12, 2024", [(("BCG",), "March 12, 2024")]),
        ("DPT-HB-Hib 2 + pcv2 + opv3", [(("DPT_HB_HIB2", "PCV2", "OPV3"), "")]),
        ("dpt2,pcv2,opv3", [(("DPT_HB_HIB2",), ""), (("PCV2",), ""), (("OPV3",), "")]),
        ("campak 10/2026", [(("MR*",), "10/2026")]),
    ],
)
def test_dose_entries(text, groups):
    assert dose_entries(text) == groups


@pytest.mark.parametrize(("text", "groups"), [
    ("bcg oktober", [(("BCG",), "oktober")]),  # a month without its year: the last October
    ("dpt1 3 minggu lalu", [(("DPT_HB_HIB1",), "3 minggu lalu")]),
    ("mr1 bulan lalu", [(("MR1",), "bulan lalu")]),
])
def test_dose_entries_read_when_as_people_say_it(text, groups):
    assert dose_entries(text) == groups


@pytest.mark.parametrize(
    ("text", "part", "code"),
    [("dpt1 31-02-2026", "31-02-2026", "dose_date"), ("dpt1 12-13-2026", "12-13-2026", "dose_date"), ("dtx2", "dtx2", "dose"),
     ("sudah", "sudah", "dose"), ("12-10-2026", "12-10-2026", "dose"), ("pcv2 putu", "putu", "dose"), ("", "", "dose"),
     ("bcg 31-06", "31-06", "dose_date")],
)
def test_dose_entries_name_the_word_not_understood(text, part, code):
    with pytest.raises(DoseTextError) as info:
        dose_entries(text)
    assert (info.value.part, info.value.code) == (part, code)


# --------------------------------------------------------------------------- services and danger signs

@pytest.mark.parametrize(
    ("line", "services"),
    [
        ("oc", ("OBAT_CACING",)), ("cacing", ("OBAT_CACING",)), ("obat cacing", ("OBAT_CACING",)),
        ("obatcacing", ("OBAT_CACING",)), ("albendazol", ("OBAT_CACING",)),
        ("sdidtk", ("SDIDTK",)), ("kpsp", ("SDIDTK",)),
        ("kn1 kn2 kn3", ("KN1", "KN2", "KN3")), ("kn 2", ("KN2",)), ("kn-3", ("KN3",)), ("KN1", ("KN1",)),
        ("kf1 kf4", ("KF1", "KF4")), ("kf 3", ("KF3",)),
        ("ttd", (IRON,)), ("ttd bb 8", (IRON,)),
        ("oc sdidtk kn1", ("OBAT_CACING", "SDIDTK", "KN1")),
    ],
)
def test_service_keywords(line, services):
    assert parse_fast_entry(f"catat K-7QX2MA anak2 {line}").services == services


@pytest.mark.parametrize(("line", "result"), [("skilas normal", False), ("skilas negatif", False), ("SKILAS positif", True),
                                             ("skilas:positif", True)])
def test_skilas_result(line, result):
    assert parse_fast_entry(f"catat K-7QX2MA nama Nenek {line}").skilas_positive is result


def test_ttd_with_a_number_is_the_tablets_given():
    got = parse_fast_entry("catat K-7QX2MA ibu ttd 30 oc")
    assert (got.iron_tablets, got.services) == (30, ("OBAT_CACING",))


@pytest.mark.parametrize(
    ("line", "danger", "note"),
    [
        ("bb 8 bahaya kejang, demam tinggi", "kejang, demam tinggi", None),
        ("bahaya: sesak napas", "sesak napas", None),
        ("catatan rewel bahaya tidak ada", None, "rewel bahaya tidak ada"),  # the first of them ends the line
        ("bahaya kejang catatan sudah ke bidan", "kejang catatan sudah ke bidan", None),
    ],
)
def test_danger_sign_is_the_rest_of_the_line(line, danger, note):
    got = parse_fast_entry(f"catat K-7QX2MA anak2 {line}")
    assert (got.danger, got.note) == (danger, note)


@pytest.mark.parametrize(
    ("text", "codes"),
    [("oc sdidtk", ["OBAT_CACING", "SDIDTK"]), ("Obat cacing, KN 2", ["OBAT_CACING", "KN2"]), ("vitamin a", [VITAMIN_A]),
     ("vit. A + ttd", [VITAMIN_A, IRON]), ("kf-1 kf 2", ["KF1", "KF2"]), ("cacing cacing", ["OBAT_CACING"])],
)
def test_read_services(text, codes):
    assert read_services(text) == codes


@pytest.mark.parametrize(("text", "word"), [("dpt1", "dpt1"), ("oc 3", "3"), ("kn4", "kn4"), ("obat", "obat")])
def test_read_services_names_the_word(text, word):
    with pytest.raises(ServiceWordError) as info:
        read_services(text)
    assert info.value.word == word


@pytest.mark.parametrize(
    ("line", "part", "code"),
    [
        # the command and the family code
        ("", "", "command"),
        ("catet K-7QX2MA anak2 bb 8", "catet", "command"),
        ("catat", "", "family_code"),
        ("catat anak2 bb 8,2", "", "family_code"),
        ("catat putu bb 8,2", "", "family_code"),
        ("catat K-7QX2M anak2 bb 8", "K-7QX2M", "family_code"),
        ("catat K-7QX2MAA anak2 bb 8", "K-7QX2MAA", "family_code"),
        ("catat K-0123 anak2 bb 8", "K-0123", "family_code"),
        ("catat k7qx2m anak2 bb 8", "k7qx2m", "family_code"),
        ("catat K-7QX2M! anak2 bb 8", "K-7QX2M!", "family_code"),
        ("catat K- 7QX anak2 bb 8", "K- 7QX", "family_code"),
        # numbers
        ("catat K-7QX2MA anak2 bb 8,2,1", "bb 8,2,1", "number"),
        ("catat K-7QX2MA bb 8,2,1 anak2", "bb 8,2,1", "number"),
        ("catat K-7QX2MA anak2 bb8,2,1", "bb8,2,1", "number"),
        ("catat K-7QX2MA anak2 bb delapan", "bb delapan", "number"),
        ("catat K-7QX2MA anak2 bb 0", "bb 0", "number"),
        ("catat K-7QX2MA anak2 bb 0,0", "bb 0,0", "number"),
        ("catat K-7QX2MA anak2 bb -8", "bb -8", "number"),
        ("catat K-7QX2MA anak2 bb 8.2.1", "bb 8.2.1", "number"),
        ("catat K-7QX2MA anak2 bb 8,2cm", "bb 8,2cm", "number"),
        ("catat K-7QX2MA anak2 tb 71x", "tb 71x", "number"),
        ("catat K-7QX2MA anak2 tb 71kg", "tb 71kg", "number"),
        ("catat K-7QX2MA anak2 pb ,5", "pb ,5", "number"),
        ("catat K-7QX2MA anak2 lk 4a4", "lk 4a4", "number"),
        ("catat K-7QX2MA anak2 lila 1,4,5", "lila 1,4,5", "number"),
        ("catat K-7QX2MA ibu gd abc", "gd abc", "number"),
        ("catat K-7QX2MA ibu lp 0", "lp 0", "number"),
        ("catat K-7QX2MA ibu ttd 2,5", "ttd 2,5", "whole_number"),
        ("catat K-7QX2MA ibu ttd 0", "ttd 0", "whole_number"),
        ("catat K-7QX2MA ibu anc tiga", "anc tiga", "whole_number"),
        ("catat K-7QX2MA anak0 bb 8", "anak0", "whole_number"),
        ("catat K-7QX2MA anak x bb 8", "anak x", "whole_number"),
        ("catat K-7QX2MA anak 2,5 bb 8", "anak 2,5", "whole_number"),
        # blood pressure
        ("catat K-7QX2MA ibu td 120", "td 120", "bp"),
        ("catat K-7QX2MA ibu td 120 80", "td 120", "bp"),
        ("catat K-7QX2MA ibu td 120/", "td 120/", "bp"),
        ("catat K-7QX2MA ibu td 120/80/70", "td 120/80/70", "bp"),
        ("catat K-7QX2MA ibu td 12,5/80", "td 12,5/80", "bp"),
        ("catat K-7QX2MA ibu td 0/80", "td 0/80", "bp"),
        ("catat K-7QX2MA ibu td 120 / x", "td 120 / x", "bp"),
        # missing values
        ("catat K-7QX2MA anak2 tb", "tb", "missing_value"),
        ("catat K-7QX2MA anak2 bb tb 71", "bb", "missing_value"),
        ("catat K-7QX2MA anak2 bb: tb 71", "bb:", "missing_value"),
        ("catat K-7QX2MA bb 8 anak", "anak", "missing_value"),
        ("catat K-7QX2MA anak2 imun", "imun", "missing_value"),
        ("catat K-7QX2MA anak2 imun bb 8", "imun", "missing_value"),
        ("catat K-7QX2MA anak2 bb 8 catatan", "catatan", "missing_value"),
        ("catat K-7QX2MA anak2 bb 8 catatan:", "catatan:", "missing_value"),
        ("catat K-7QX2MA ibu td", "td", "missing_value"),
        ("catat K-7QX2MA bb 8 nama", "nama", "missing_value"),
        ("catat K-7QX2MA nama anak2 bb 8", "nama", "missing_value"),
        ("catat K-7QX2MA ibu anc", "anc", "missing_value"),
        # doses
        ("catat K-7QX2MA anak2 imun dtx2", "dtx2", "dose"),
        ("catat K-7QX2MA anak2 imun dpt2 dtx2 pcv2", "dtx2", "dose"),
        ("catat K-7QX2MA anak2 imun dpt2,dtx2", "dtx2", "dose"),
        ("catat K-7QX2MA anak2 imun dpt5", "dpt5", "dose"),
        ("catat K-7QX2MA anak2 imun dpt 5", "dpt 5", "dose"),
        ("catat K-7QX2MA anak2 imun dtx2 3", "dtx2", "dose"),
        ("catat K-7QX2MA anak2 imun sudah", "sudah", "dose"),
        ("catat K-7QX2MA anak2 imun pcv2 putu", "putu", "dose"),
        ("catat K-7QX2MA anak2 imun dpt2 dpt2", "dpt2", "duplicate"),
        ("catat K-7QX2MA anak2 imun dpt2 penta 2", "penta 2", "duplicate"),
        ("catat K-7QX2MA anak2 imun dpt1 31-02-2026", "31-02-2026", "dose_date"),
        # services and danger signs
        ("catat K-7QX2MA anak2 kn4", "kn4", "unknown"),
        ("catat K-7QX2MA anak2 kf 5", "kf 5", "unknown"),
        ("catat K-7QX2MA anak2 kn", "kn", "missing_value"),
        ("catat K-7QX2MA anak2 obat", "obat", "unknown"),
        ("catat K-7QX2MA anak2 obat bb 8", "obat", "unknown"),
        ("catat K-7QX2MA anak2 oc cacing", "cacing", "duplicate"),
        ("catat K-7QX2MA anak2 ttd ttd", "ttd", "duplicate"),
        ("catat K-7QX2MA anak2 bahaya", "bahaya", "missing_value"),
        ("catat K-7QX2MA anak2 skilas", "skilas", "missing_value"),
        ("catat K-7QX2MA anak2 skilas baik", "skilas baik", "unknown"),
        ("catat K-7QX2MA anak2 skilas normal skilas positif", "skilas positif", "duplicate"),
        ("catat K-7QX2MA anak2 bahaya " + "x" * 201, "bahaya", "too_long"),
        # duplicates
        ("catat K-7QX2MA anak2 bb 8 bb 9", "bb 9", "duplicate"),
        ("catat K-7QX2MA anak2 tb 71 pb 72", "pb 72", "duplicate"),
        ("catat K-7QX2MA anak2 vita vit a", "vit a", "duplicate"),
        ("catat K-7QX2MA anak2 bb 8 ibu", "ibu", "duplicate"),
        ("catat K-7QX2MA anak2 bb 8 anak 3", "anak 3", "duplicate"),
        ("catat K-7QX2MA ibu td 120/80 td 130/80", "td 130/80", "duplicate"),
        # names and unknown words
        ("catat K-7QX2MA nama 123 bb 8", "nama 123", "name"),
        ("catat K-7QX2MA nama:P2 bb 8", "nama:P2", "name"),
        ("catat K-7QX2MA anak2 bb 8,2 putu", "putu", "unknown"),
        ("catat K-7QX2MA anak2 bb 8,2 tbb 71", "tbb", "unknown"),
        ("catat K-7QX2MA bbb 8,2 anak2", "bbb", "unknown"),
        ("catat K-7QX2MA putu anak2 bb 8", "putu", "unknown"),
        ("catat K-7QX2MA putu ayu bb 8", "ayu", "unknown"),
        ("catat K-7QX2MA anak2 bb 8 9", "9", "unknown"),
        ("catat K-7QX2MA anak2 bb 8 l", "l", "unknown"),
        ("catat K-7QX2MA anak2 bb 8 dpt2", "dpt2", "unknown"),
        ("catat K-7QX2MA anak2 bb 8 vit", "vit", "unknown"),
        ("catat K-7QX2MA anak2 bb 8 #!", "#!", "unknown"),
        # the whole line
        ("catat K-7QX2MA bb 8,2", "", "member"),
        ("catat K-7QX2MA anak2", "", "empty"),
    ],
)
def test_errors_name_the_exact_part(line, part, code):
    with pytest.raises(FastEntryError) as info:
        parse_fast_entry(line)
    assert (info.value.part, info.value.code) == (part, code)


def test_error_keeps_the_typed_case():
    with pytest.raises(FastEntryError) as info:
        parse_fast_entry("catat K-7QX2MA anak2 BB 8,2,1")
    assert info.value.part == "BB 8,2,1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("catat K-7QX2MA anak2 bb 8", True), ("/catat", True), ("/CATAT@IlpBot x", True),
     ("Catat", True), ("catatan", False), ("", False), ("   ", False), ("halo", False)],
)
def test_looks_like_fast_entry(text, expected):
    assert looks_like_fast_entry(text) is expected
