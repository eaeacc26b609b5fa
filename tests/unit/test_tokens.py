"""Personal-link tokens and pseudonymous panel ids."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.tokens import hash_token, looks_like_token, new_token, panel_id

URL_SAFE_43 = re.compile(r"[A-Za-z0-9_-]{43}")


def test_given_a_new_token_then_it_is_43_url_safe_characters():
    for _ in range(50):
        token = new_token()
        assert URL_SAFE_43.fullmatch(token), token
        assert looks_like_token(token)


def test_given_1000_new_tokens_then_they_are_all_different():
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a" * 42,
        "a" * 44,
        "a" * 42 + "=",
        "a" * 42 + "+",
        "a" * 42 + "/",
        "a" * 42 + ".",
        "a" * 42 + " ",
        " " + "a" * 42,
        "a" * 21 + "%" + "a" * 21,
        "é" + "a" * 42,
        "../../" + "a" * 37,
        "a" * 42 + "\x00",
    ],
)
def test_given_a_value_of_the_wrong_shape_then_it_does_not_look_like_a_token(value):
    assert not looks_like_token(value)


def test_given_a_token_followed_by_a_newline_then_it_does_not_look_like_a_token():
    assert not looks_like_token(new_token() + "\n")


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=60))
def test_given_any_text_that_looks_like_a_token_then_it_is_exactly_43_url_safe_characters(value):
    if looks_like_token(value):
        assert len(value) == 43 and URL_SAFE_43.fullmatch(value)


def test_given_a_token_then_its_hash_is_the_hex_sha256_and_not_the_token():
    token = new_token()
    digest = hash_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest != token and token not in digest
    assert hash_token(token) == digest
    assert hash_token(new_token()) != digest


def test_given_a_participant_then_the_panel_id_is_stable_and_pseudonymous():
    first = panel_id("panel-secret", "pt_0123456789abcdef")
    assert first == panel_id("panel-secret", "pt_0123456789abcdef")
    assert re.fullmatch(r"pn_[0-9a-f]{20}", first)
    assert "0123456789abcdef" not in first


def test_given_two_participants_or_two_secrets_then_panel_ids_differ():
    base = panel_id("panel-secret", "pt_a")
    assert panel_id("panel-secret", "pt_b") != base
    assert panel_id("other-secret", "pt_a") != base
    ids = {panel_id("panel-secret", f"pt_{i}") for i in range(500)}
    assert len(ids) == 500
