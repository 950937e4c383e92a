"""Who may talk to the bot, and what a refused sender reads."""

from __future__ import annotations

from praktor_gateway_telegram.access import allowed, refusal_text


def test_listed_users_are_allowed() -> None:
    assert allowed(7, [7, 8], None)


def test_an_empty_list_allows_nobody() -> None:
    assert not allowed(7, [], None)


def test_approved_senders_are_allowed_without_being_listed() -> None:
    assert allowed(7, [], "approved")


def test_pending_and_denied_senders_are_refused() -> None:
    assert not allowed(7, [8], "pending")
    assert not allowed(7, [8], "denied")


def test_the_refusal_names_the_user_id_and_what_the_owner_runs() -> None:
    text = refusal_text(123456)
    assert "123456" in text
    assert "praktor telegram approve 123456" in text
    assert "owner must approve" in text
