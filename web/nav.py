"""The page menu of the puskesmas web: one line per page, in menu order, as (route name, label).

A page joins the menu by adding its line here; the layout (``templates/base.html``) shows the entries whose
route the app has, and marks the current one.
"""
from __future__ import annotations

from content.i18n import N_

PAGES: tuple[tuple[str, str], ...] = (
    ("overview", N_("PWS")),
    ("targets", N_("Sasaran")),
    ("referrals", N_("Rujukan")),
    ("broadcasts", N_("Pengumuman")),
    ("schedule", N_("Jadwal posyandu")),
    ("kaders", N_("Kader")),
    ("imports", N_("Impor")),
    ("satusehat", N_("SATUSEHAT")),
)
