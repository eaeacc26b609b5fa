"""The list of committed values a cloud stage refuses as secrets: what counts as a candidate, that make deploy
writes the list of the checkout it deploys into the package, and that a package without it is refused."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from chalicelib import stage_secrets
from chalicelib.domain.errors import ConfigurationError
from chalicelib.stage_secrets import public_value_hash, public_value_hashes
from deploy.public_values import LIST, ROOT, candidates, committed_files, scan, write


def _in_a_git_checkout() -> bool:
    if shutil.which("git") is None:
        return False
    done = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT, capture_output=True, check=False)
    return done.returncode == 0


needs_git = pytest.mark.skipif(
    not _in_a_git_checkout(), reason="needs the git checkout: the list is of committed files"
)


@needs_git
def test_the_written_list_holds_every_committed_candidate(tmp_path: Path) -> None:
    target = tmp_path / "public_values.txt"
    count = write(target)
    listed = {line for line in target.read_text(encoding="utf-8").splitlines() if not line.startswith("#")}
    assert len(listed) == count > 100
    missing = sorted({name for name, value in scan() if public_value_hash(value) not in listed})
    assert not missing, f"values of {missing} are not in the list"


@needs_git
def test_the_list_is_never_committed() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert LIST not in tracked.splitlines() and LIST not in committed_files()


def test_a_package_without_the_list_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(stage_secrets, "PUBLIC_VALUES_FILE", tmp_path / "absent.txt")
    public_value_hashes.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match="make deploy"):
            public_value_hashes()
    finally:
        public_value_hashes.cache_clear()


def test_runs_of_32_non_space_non_quote_characters_are_candidates() -> None:
    text = "key = abcdefghijklmnopqrstuvwxyz0123456789, short = abc\n"
    assert candidates(text) == {"abcdefghijklmnopqrstuvwxyz0123456789,"}
    assert candidates("`abcdefghijklmnopqrstuvwxyz0123456789`") == {"abcdefghijklmnopqrstuvwxyz0123456789"}


def test_quoted_literals_of_32_characters_are_candidates_spaces_and_all() -> None:
    text = """x = "correct horse battery staple and more" + r'another literal of enough length!' """
    found = candidates(text)
    assert "correct horse battery staple and more" in found
    assert "another literal of enough length!" in found


def test_an_apostrophe_opens_no_literal() -> None:
    text = "It's a long sentence about nothing in particular, isn't it"
    assert not any(" " in value for value in candidates(text))


@needs_git
def test_the_old_placeholder_and_the_local_defaults_are_listed() -> None:
    listed = public_value_hashes()
    for value in (
        "set-from-ssm-or-secrets-manager-at-least-32-chars",  # the placeholder committed until this change
        "local-pseudonym-secret-not-for-production",
        "local-panel-secret-not-for-production!!",
        "local-session-secret-not-for-production!",
    ):
        assert public_value_hash(value) in listed, value
