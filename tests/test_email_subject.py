"""A subject survives folding as written: no leading blank, whatever its length."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default

import pytest

from worker.notify.email import POLICY

ENGLISH = "Azimjan Askarov barred from leaving Kyrgyzstan after court hearing in Bishkek on Monday"
MIXED = "Азимжан Аскаров barred from leaving Kyrgyzstan after a court hearing in Bishkek"


@pytest.mark.parametrize("words", [ENGLISH.split(), MIXED.split()], ids=["ascii", "mixed"])
@pytest.mark.parametrize("start", range(4))
@pytest.mark.parametrize("length", range(1, 31))
def test_subject_reads_back_unchanged_at_every_length(
    words: list[str], start: int, length: int
) -> None:
    subject = " ".join((words * 4)[start : start + length])
    mail = EmailMessage(policy=POLICY)
    mail["Subject"] = subject
    raw = mail.as_bytes(policy=SMTP)
    head = raw.split(b"\r\n\r\n")[0]
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    assert head.isascii()
    assert str(message_from_bytes(raw, policy=default)["Subject"]) == subject
