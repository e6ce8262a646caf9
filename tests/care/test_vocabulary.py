"""The one dose vocabulary."""
from __future__ import annotations

import pytest

from care.vocabulary import DoseWordError, dose_code, read_doses, resolve


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("hb0 bcg", ["HB0", "BCG"]),
        ("HepB0, hbo, hb 0, hepatitis b 0", ["HB0", "HB0", "HB0", "HB0"]),
        ("penta2 pentavalen 3 dpt-hb-hib1 DPT HB HIB 2 dpthbhib3", ["DPT_HB_HIB2", "DPT_HB_HIB3", "DPT_HB_HIB1", "DPT_HB_HIB2", "DPT_HB_HIB3"]),
        ("bopv1 polio 2 opv3 polio tetes 4", ["OPV1", "OPV2", "OPV3", "OPV4"]),
        ("ipv1 polio suntik 2", ["IPV1", "IPV2"]),
        ("rota1 rv2 rotavirus 3", ["RV1", "RV2", "RV3"]),
        ("campak1 MR 2 campak rubela 1 measles 2", ["MR1", "MR2", "MR1", "MR2"]),
        ("dpt lanjutan, mr booster, pcv lanjutan", ["DPT_HB_HIB4", "MR2", "PCV3"]),
        ("pcv pneumokokus 2 je bcg1", ["PCV*", "PCV2", "JE", "BCG"]),
    ],
)
def test_the_words_kaders_write(text, codes):
    assert read_doses(text) == codes


@pytest.mark.parametrize(("text", "word"), [("dtp5", "dtp5"), ("vaksin", "vaksin"), ("dpt 7", "dpt 7"), ("bcg2", "bcg2")])
def test_an_unknown_word_is_named(text, word):
    with pytest.raises(DoseWordError) as err:
        read_doses(text)
    assert err.value.word == word


def test_a_series_word_without_number_is_the_next_dose_not_recorded():
    assert resolve(["PCV*", "PCV*", "MR*"], taken={"PCV1", "MR1", "MR2"}) == ["PCV2", "PCV3", "MR2"]


def test_one_word():
    assert (dose_code("penta2"), dose_code("rota"), dose_code("xyz")) == ("DPT_HB_HIB2", "RV*", None)
