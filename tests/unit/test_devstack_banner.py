"""`make run`'s banner: the demo's still-open survey link is a participant's credential, so it goes to a file
under .local/ and the console names the file, never the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.__main__ import LocalStack
from devstack.seed import Demo

TOKEN = "Q" * 21 + "_" + "z" * 21  # 43 characters, a token's shape


def test_given_a_seeded_demo_when_the_banner_prints_then_the_open_link_is_in_a_file_not_on_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = LocalStack(aws_port=5000, port=8000, seed=True, local_dir=tmp_path)
    stack.demo = Demo("ev_0123456789ab", "wv_0123456789ab", TOKEN, participants=272, answered=218)

    stack.banner()

    printed = capsys.readouterr().out
    assert TOKEN not in printed
    link_file = tmp_path / "demo-link"
    assert str(link_file) in printed
    assert link_file.read_text(encoding="utf-8") == f"http://127.0.0.1:8000/s/{TOKEN}\n"
    assert "ev_0123456789ab" in printed  # the event and the curl for its summary are still shown


def test_given_the_programme_still_seeding_then_the_banner_says_so_and_once_done_it_names_the_programme_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from devstack.seed import Programme

    stack = LocalStack(aws_port=5000, port=8000, seed=True, local_dir=tmp_path)
    stack.demo = Demo("ev_0123456789ab", "wv_0123456789ab", None, participants=272, answered=218)

    stack.banner()
    assert "still being seeded in the background" in capsys.readouterr().out

    stack.programme = Programme(
        {2011: ["ev_a", "ev_b"], 2012: ["ev_c", "ev_d"]}, {2011: "sw_a", 2012: "sw_b"}, 860, 720, {}
    )
    stack.banner()
    printed = capsys.readouterr().out
    assert "still being seeded" not in printed
    assert "2011: 2 workshops, 2012: 2 workshops" in printed
    assert "http://127.0.0.1:8000/dashboard/programme" in printed


def test_given_seed_0_then_the_banner_says_nothing_of_a_programme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    LocalStack(aws_port=5000, port=8000, seed=False, local_dir=tmp_path).banner()
    assert "Programme" not in capsys.readouterr().out
