"""The output scan every test runs under (tests/conftest.py): what it catches and what it lets through."""

from __future__ import annotations

import pytest

from devstack import seed
from tests.support import personal_data


@pytest.mark.parametrize(
    "text",
    [
        "sent to amina.diallo@example.org",
        "link /s/" + "A" * 43,
        "Dear Kwame Mensah,",  # a name the demo seed can make: every first name with every last name
        "Dear María López,",  # accents count as letters
        "Ministry of Foreign Affairs",  # a seeded organisation
        "row 3: Grace Okafor, Civil Voices",  # test data (tests/e2e/test_local_stack.py)
        "Paul Martin of Université",  # test data (tests/e2e/test_dashboard.py, a tuple)
        "imported Legacy Person",  # a full_name= keyword in a test
    ],
)
def test_personal_data_is_found(text: str) -> None:
    assert personal_data.find(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        '{"route": "/s/{token}", "event_id": "ev_0123456789ab", "wave_id": "wv_0123456789ab"}',
        "Grace period for Li",  # first names alone are not flagged; the seed's full names are
        "KimWei, xLi Wei",  # only whole words
        "amina diallo",  # case-sensitive: names as the data spells them
        '{"_aws": {"CloudWatchMetrics": [{"Namespace": "EventFeedback"}]}, "EmailsSent": [1.0]}',
    ],
)
def test_ordinary_output_passes(text: str) -> None:
    assert personal_data.find(text) is None


def test_every_seeded_name_and_organisation_is_covered() -> None:
    for first in seed.FIRST:
        for last in seed.LAST:
            assert personal_data.find(f"({first} {last})") == f"{first} {last}"
    for org in seed.ORGS.values():
        if len(org) >= 5:
            assert personal_data.find(org) == org
