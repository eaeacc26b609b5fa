"""The sign-in lockout counts before it asks (issue 13, defect 7): each attempt is counted by one conditional
atomic update before Cognito is called, so parallel wrong passwords cannot all pass a check that none has
written yet; and the lockout is kept from becoming a way to lock a known admin out: it is counted per address
and network (5 attempts in 15 minutes), with a far higher ceiling per address from every network together
(50), so one attacker locks out only themselves."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import container
from chalicelib.domain import signin
from chalicelib.domain.errors import Unauthenticated
from chalicelib.domain.signin import SignedIn

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
EMAIL = "admin@example.org"


class Cognito:
    """The password check, slow as a network call, right only for one password."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0
        self.lock = threading.Lock()

    def authenticate(self, email: str, password: str) -> SignedIn:
        with self.lock:
            self.calls += 1
        time.sleep(self.delay)
        if password != "Right-password-1!":
            raise Unauthenticated("The email address or password is not right.")
        return SignedIn(access_token="token", expires_in=3600)

    def respond(self, challenge: str, session: str, email: str, answer: str) -> SignedIn:
        raise NotImplementedError


def attempt(cognito: Cognito, password: str, origin: str = "198.51.100.7", now: datetime = NOW) -> str:
    try:
        signin.sign_in(cognito, container.attempt_log(), EMAIL, password, secret="s" * 32, now=now, origin=origin)
    except signin.LockedOut:
        return "locked"
    except Unauthenticated:
        return "refused"
    return "signed in"


def test_parallel_wrong_passwords_reach_cognito_at_most_five_times(stack):
    cognito = Cognito(delay=0.05)
    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda: outcomes.append(attempt(cognito, "Wrong-1!"))) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cognito.calls == signin.MAX_FAILURES, outcomes
    assert sorted(outcomes) == ["locked"] * 7 + ["refused"] * 5


def test_an_attacker_locks_out_only_their_own_network(stack):
    cognito = Cognito()
    for _ in range(signin.MAX_FAILURES):
        assert attempt(cognito, "Wrong-1!", origin="203.0.113.9") == "refused"
    assert attempt(cognito, "Right-password-1!", origin="203.0.113.9") == "locked"
    assert attempt(cognito, "Right-password-1!", origin="198.51.100.7") == "signed in"  # the admin, elsewhere


def test_guessing_from_many_networks_meets_the_ceiling_per_address(stack):
    cognito = Cognito()
    tries = 0
    for network in range(signin.MAX_ADDRESS_FAILURES // signin.MAX_FAILURES):
        for _ in range(signin.MAX_FAILURES):
            assert attempt(cognito, "Wrong-1!", origin=f"2001:db8:{network:x}::1") == "refused"
            tries += 1
    assert tries == signin.MAX_ADDRESS_FAILURES
    assert attempt(cognito, "Wrong-1!", origin="192.0.2.200") == "locked"
    assert cognito.calls == signin.MAX_ADDRESS_FAILURES


def test_addresses_in_one_ipv6_64_are_one_network(stack):
    cognito = Cognito()
    for host in range(signin.MAX_FAILURES):
        assert attempt(cognito, "Wrong-1!", origin=f"2001:db8:1:2::{host + 1:x}") == "refused"
    assert attempt(cognito, "Wrong-1!", origin="2001:db8:1:2:ffff::9") == "locked"


@pytest.mark.parametrize("origin", ["", "not-an-address"])
def test_an_unknown_origin_is_one_network_of_its_own(stack, origin):
    cognito = Cognito()
    for _ in range(signin.MAX_FAILURES):
        assert attempt(cognito, "Wrong-1!", origin=origin) == "refused"
    assert attempt(cognito, "Wrong-1!", origin=origin) == "locked"


def test_the_window_ends_and_a_success_clears_the_count(stack):
    cognito = Cognito()
    for _ in range(signin.MAX_FAILURES):
        assert attempt(cognito, "Wrong-1!") == "refused"
    assert attempt(cognito, "Right-password-1!") == "locked"
    later = NOW + signin.WINDOW + timedelta(seconds=1)
    assert attempt(cognito, "Wrong-1!", now=later) == "refused"
    assert attempt(cognito, "Right-password-1!", now=later) == "signed in"
    for _ in range(signin.MAX_FAILURES):  # cleared: a full allowance again
        assert attempt(cognito, "Wrong-1!", now=later) == "refused"


class CognitoWithCode(Cognito):
    """The right password leads to an authenticator-code step, and every code is wrong."""

    def authenticate(self, email: str, password: str) -> SignedIn:
        super().authenticate(email, password)
        raise signin.ChallengeRequired("enter your code", name="SOFTWARE_TOKEN_MFA", session="s", email=email)

    def respond(self, challenge: str, session: str, email: str, answer: str) -> SignedIn:
        raise Unauthenticated("the code is not right")


def code(cognito: Cognito) -> str:
    try:
        signin.answer_challenge(
            cognito,
            container.attempt_log(),
            challenge="SOFTWARE_TOKEN_MFA",
            session="s",
            email=EMAIL,
            answer="000000",
            secret="s" * 32,
            now=NOW,
            origin="198.51.100.7",
        )
    except signin.LockedOut:
        return "locked"
    except Unauthenticated:
        return "refused"
    return "signed in"


def the_password_leads_to_the_code(cognito: Cognito) -> None:
    with pytest.raises(signin.ChallengeRequired):
        signin.sign_in(
            cognito,
            container.attempt_log(),
            EMAIL,
            "Right-password-1!",
            secret="s" * 32,
            now=NOW,
            origin="198.51.100.7",
        )


def test_a_right_password_before_a_code_is_not_counted_but_buys_no_more_code_guesses(stack):
    cognito = CognitoWithCode()
    for _ in range(signin.MAX_FAILURES - 1):
        the_password_leads_to_the_code(cognito)
        assert code(cognito) == "refused"
    the_password_leads_to_the_code(cognito)  # the password, again: it does not reset the wrong codes
    assert code(cognito) == "refused"
    assert code(cognito) == "locked"
