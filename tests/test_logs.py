"""Phone numbers, NIK and tokens never reach the logs."""
from __future__ import annotations

import logging

from logs import RedactingFilter, redact


def test_redact_masks_phone_nik_and_token():
    line = "from +6281234567890 and 081234567890 nik 5108061203960001 url /bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe"
    cleaned = redact(line)
    assert "81234567890" not in cleaned and "5108061203960001" not in cleaned and "AAHdqTcv" not in cleaned
    assert cleaned.count("<phone>") == 2 and "<nik>" in cleaned


def test_filter_rewrites_records(caplog):
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("contact %s", "+6281234567890")
    assert "<phone>" in caplog.text and "6281234567890" not in caplog.text


def test_tracebacks_are_redacted_too(caplog):
    from logs import RedactingFilter

    logger = logging.getLogger("test.redact.exc")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.ERROR, logger="test.redact.exc"):
        try:
            raise ValueError("parameters: ('081234567890', '5108061234567890')")
        except ValueError:
            logger.exception("step failed")
    assert "081234567890" not in caplog.text and "5108061234567890" not in caplog.text
    assert "<phone>" in caplog.text
