"""The upload kept between the mapping step and "Import" is opened only with the key the form carries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.pending import open_upload, seal_upload


@given(st.binary(max_size=5000))
def test_a_sealed_upload_opens_with_its_key_to_the_same_bytes(raw):
    key, sealed = seal_upload(raw)
    assert open_upload(key, sealed) == raw


def test_the_stored_bytes_do_not_show_the_list():
    raw = b"email,full_name\nada@example.org,Ada Lovelace\n" * 50
    _, sealed = seal_upload(raw)
    assert b"example.org" not in sealed and b"Ada" not in sealed


def test_another_key_or_a_changed_byte_is_refused():
    key, sealed = seal_upload(b"ada@example.org")
    other, _ = seal_upload(b"ada@example.org")
    with pytest.raises(ValidationFailed):
        open_upload(other, sealed)
    tampered = bytes([sealed[0] ^ 1]) + sealed[1:]
    with pytest.raises(ValidationFailed):
        open_upload(key, tampered)
    with pytest.raises(ValidationFailed):
        open_upload("not hex", sealed)
