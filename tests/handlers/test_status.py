"""``/status``: the template refusals of WhatsApp counted by template and code (handlers/status.py)."""
from __future__ import annotations

import pytest

from handlers.status import template_failures


@pytest.mark.parametrize(
    ("errors", "lines"),
    [
        ([], []),
        ([("TemplateRejected: template ilp_pengumuman rejected (132001)", 3)],
         ["3 pesan gagal: template ilp_pengumuman ditolak (132001)"]),
        # the same refusal from the send and from a failed status are counted together by code
        ([("TemplateRejected: template ilp_pengingat rejected (132015)", 2), ("failed: 132015", 1),
          ("TemplateRejected: template ? rejected (132016)", 1)],
         ["1 pesan gagal: template WhatsApp ditolak (132015)", "1 pesan gagal: template WhatsApp ditolak (132016)",
          "2 pesan gagal: template ilp_pengingat ditolak (132015)"]),
        # other failures are not template refusals
        ([("failed: 131026", 4), ("PermanentFailure: whatsapp 100", 1), (None, 2)], []),
    ],
)
def test_template_refusals_are_counted_by_template_and_code(errors, lines):
    assert template_failures(errors) == lines
