"""A Hypothesis state machine over who may see what (issue 13, defects 2 and 3): people sign in to the dashboard,
are given and lose event groups and ``events:all`` in the pool, sign out, and use their session's token as a
Bearer token on the admin API, in any order.

The model: a token carries the groups its user had when it was issued (Cognito puts them in the token), so a
group change takes effect at the next sign-in; a signed-out session's token is refused on every route at once
(401); a live token lists every event with ``events:all``, else exactly its ``event:<id>`` events, none without
one, and any other event's summary answers 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, rule, run_state_machine_as_test

from chalicelib.api.session import SESSION_COOKIE
from tests.support.api import auth, body, make_event
from tests.support.cognito import Pool
from tests.support.visitor import Visitor, csrf_for, sign_in

PEOPLE = ("ana@example.org", "bo@example.org")


@dataclass
class Session:
    visitor: Visitor
    token: str
    events: frozenset[str]  # the events the token lets its user see when it was issued
    every_event: bool
    signed_out: bool = False


def run_machine(client: Any, stack: Any, admin_token: str) -> None:
    pool = Pool(stack)
    event_ids = (make_event(client, admin_token, title="Geneva workshop"), make_event(client, admin_token))
    passwords = {person: pool.user(person, "viewer") for person in PEOPLE}
    groups: dict[str, set[str]] = {person: set() for person in PEOPLE}  # event ids, and "all"

    class Access(RuleBasedStateMachine):
        sessions = Bundle("sessions")

        def __init__(self) -> None:
            super().__init__()
            for person in PEOPLE:  # every example starts from no group at all
                for group in list(groups[person]):
                    self._set(person, group, False)

        def _set(self, person: str, group: str, member: bool) -> None:
            name = "events:all" if group == "all" else f"event:{group}"
            if member and group not in groups[person]:
                pool.add(person, name)
                groups[person].add(group)
            elif not member and group in groups[person]:
                pool.remove(person, name)
                groups[person].discard(group)

        @rule(person=st.sampled_from(PEOPLE), group=st.sampled_from((*event_ids, "all")), member=st.booleans())
        def change_groups(self, person: str, group: str, member: bool) -> None:
            self._set(person, group, member)

        @rule(target=sessions, person=st.sampled_from(PEOPLE))
        def sign_in(self, person: str) -> Session:
            visitor = Visitor(client)
            assert sign_in(visitor, person, passwords[person]).status_code == 303
            token = visitor.jar[SESSION_COOKIE].split(".", 1)[1].rsplit(".", 1)[0]
            mine = groups[person]
            return Session(visitor, token, frozenset(mine & set(event_ids)), "all" in mine)

        @rule(session=consumes(sessions))
        def sign_out(self, session: Session) -> None:
            if session.signed_out:
                return
            page = session.visitor.get("/dashboard")
            out = session.visitor.post("/dashboard/sign-out", {"csrf": csrf_for(page, "/dashboard/sign-out")})
            assert out.status_code == 303
            session.signed_out = True
            self.check(session)  # consumed from the bundle: checked once here, signed out

        @rule(session=sessions)
        def use_the_token(self, session: Session) -> None:
            self.check(session)

        def check(self, session: Session) -> None:
            listed = client.http.get("/admin/events", headers=auth(session.token))
            if session.signed_out:
                assert listed.status_code == 401, listed.body
                return
            assert listed.status_code == 200, listed.body
            seen = {e["event_id"] for e in body(listed)["events"]}
            expected = set(event_ids) if session.every_event else set(session.events)
            assert seen == expected
            for event_id in event_ids:
                r = client.http.get(f"/admin/events/{event_id}/waves", headers=auth(session.token))
                assert r.status_code == (200 if event_id in expected else 403), (event_id, r.body)

    run_state_machine_as_test(
        Access,
        settings=settings(
            max_examples=12,
            stateful_step_count=10,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


def test_access_follows_groups_at_sign_in_and_ends_at_sign_out(client, stack, tokens):
    run_machine(client, stack, tokens["admin"])
