"""chalicelib/data/public_values.txt lists every value committed here that could pass for a secret, so that a
cloud stage refuses a secret anyone with the repository can read (tools/public_values.py writes it)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from chalicelib.stage_secrets import public_value_hash, public_value_hashes
from tools.public_values import LIST, ROOT, candidates, committed_files, scan


def _in_a_git_checkout() -> bool:
    if shutil.which("git") is None:
        return False
    done = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT, capture_output=True, check=False)
    return done.returncode == 0


needs_git = pytest.mark.skipif(
    not _in_a_git_checkout(), reason="needs the git checkout: the list is of committed files"
)


@needs_git
def test_every_committed_candidate_is_in_the_list():
    listed = public_value_hashes()
    missing: dict[str, int] = {}
    for name, value in scan():
        if public_value_hash(value) not in listed:
            missing[name] = missing.get(name, 0) + 1
    assert not missing, (
        f"{LIST} is missing values committed in: "
        + ", ".join(f"{name} ({n})" for name, n in sorted(missing.items()))
        + ". Run `make public-values` and commit the list."
    )


@needs_git
def test_the_list_is_not_scanned_itself():
    # Its lines are 32-character runs: listing them would need another line each, for ever.
    assert LIST not in committed_files()
    assert LIST in subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_runs_of_32_non_space_non_quote_characters_are_candidates():
    text = "key = abcdefghijklmnopqrstuvwxyz0123456789, short = abc\n"
    assert candidates(text) == {"abcdefghijklmnopqrstuvwxyz0123456789,"}
    assert candidates("`abcdefghijklmnopqrstuvwxyz0123456789`") == {"abcdefghijklmnopqrstuvwxyz0123456789"}


def test_quoted_literals_of_32_characters_are_candidates_spaces_and_all():
    text = """x = "correct horse battery staple and more" + r'another literal of enough length!' """
    found = candidates(text)
    assert "correct horse battery staple and more" in found
    assert "another literal of enough length!" in found


def test_an_apostrophe_opens_no_literal():
    text = "It's a long sentence about nothing in particular, isn't it"
    assert not any(" " in value for value in candidates(text))


def test_the_committed_placeholder_and_local_defaults_are_listed():
    listed = public_value_hashes()
    for value in (
        "set-from-ssm-or-secrets-manager-at-least-32-chars",
        "local-pseudonym-secret-not-for-production",
        "local-panel-secret-not-for-production!!",
        "local-session-secret-not-for-production!",
    ):
        assert public_value_hash(value) in listed, value
