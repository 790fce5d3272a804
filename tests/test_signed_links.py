"""Signed, expiring links (auth/signed_links.py): bound to purpose, tenant, object, variant and expiry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from auth.signed_links import ExpiredLink, InvalidLink, LinkSubject, sign, verify

SECRET = "a-server-secret-that-is-long-enough-0123456789abcdef"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=15)
TENANT = uuid.UUID("11111111-1111-4111-8111-111111111111")
OTHER = uuid.UUID("22222222-2222-4222-8222-222222222222")
SUBJECT = LinkSubject(TENANT, "attachment-1", "")


def test_a_signed_link_verifies_until_it_expires() -> None:
    token = sign(SECRET, "file", SUBJECT, LATER)
    assert verify(SECRET, "file", SUBJECT, token, now=NOW) == LATER.replace(microsecond=0)
    assert verify(SECRET, "file", SUBJECT, token, now=LATER - timedelta(seconds=1))
    with pytest.raises(ExpiredLink):
        verify(SECRET, "file", SUBJECT, token, now=LATER)


@pytest.mark.parametrize(
    "other",
    [
        LinkSubject(OTHER, "attachment-1", ""),
        LinkSubject(TENANT, "attachment-2", ""),
        LinkSubject(TENANT, "attachment-1", "512"),
        LinkSubject(TENANT, "attachment-", "1"),
    ],
)
def test_a_link_opens_only_its_own_subject(other: LinkSubject) -> None:
    token = sign(SECRET, "file", SUBJECT, LATER)
    with pytest.raises(InvalidLink) as refused:
        verify(SECRET, "file", other, token, now=NOW)
    assert not isinstance(refused.value, ExpiredLink)


def test_a_link_is_bound_to_its_purpose_and_secret() -> None:
    token = sign(SECRET, "file", SUBJECT, LATER)
    with pytest.raises(InvalidLink):
        verify(SECRET, "export", SUBJECT, token, now=NOW)
    with pytest.raises(InvalidLink):
        verify(SECRET + "x", "file", SUBJECT, token, now=NOW)


def test_a_tampered_expiry_or_signature_is_refused() -> None:
    token = sign(SECRET, "file", SUBJECT, LATER)
    expires, mac = token.split(".")
    with pytest.raises(InvalidLink):
        verify(SECRET, "file", SUBJECT, f"{int(expires) + 3600}.{mac}", now=NOW)
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    with pytest.raises(InvalidLink):
        verify(SECRET, "file", SUBJECT, f"{expires}.{flipped}", now=NOW)


def test_an_expired_link_with_a_forged_signature_is_invalid_not_expired() -> None:
    token = sign(SECRET, "file", SUBJECT, NOW - timedelta(hours=1))
    expires, _ = token.split(".")
    with pytest.raises(ExpiredLink):
        verify(SECRET, "file", SUBJECT, token, now=NOW)
    with pytest.raises(InvalidLink) as refused:
        verify(SECRET, "file", SUBJECT, f"{expires}.{'A' * 43}", now=NOW)
    assert not isinstance(refused.value, ExpiredLink)


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "1.",
        "abc.def",
        "9" * 5000 + "." + "A" * 43,
        "1." + "A" * 44,
        "1." + "+" * 43,
        "-1." + "A" * 43,
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidLink):
        verify(SECRET, "file", SUBJECT, token, now=NOW)


def test_expiry_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sign(SECRET, "file", SUBJECT, datetime(2030, 1, 1))
