"""CSRF tokens: bound to the session, compared in constant time, never empty."""

from __future__ import annotations

from scimhub.console import csrf


def test_session_token_is_stable_per_session_and_differs_between_sessions() -> None:
    assert csrf.session_token("a") == csrf.session_token("a")
    assert csrf.session_token("a") != csrf.session_token("b")
    assert "session-one" not in csrf.session_token("session-one")


def test_matches_refuses_missing_empty_and_wrong_tokens() -> None:
    token = csrf.session_token("session")
    assert csrf.matches(token, token)
    assert not csrf.matches(token, None)
    assert not csrf.matches(token, "")
    assert not csrf.matches(token, token[:-1])
    assert not csrf.matches(None, token)
    assert not csrf.matches("", "")
