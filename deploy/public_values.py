"""The hash of every value committed in this repository that could be mistaken for a secret, so that a cloud
stage refuses a secret equal to one of them (chalicelib/stage_secrets.py).

``make deploy`` (deploy/project.py) writes the list into the project it deploys, as
``chalicelib/data/public_values.txt``, from the checkout it deploys: it is never committed, so it is always
exactly what that commit holds and nobody has to keep it current. A package without it refuses to run on a cloud
stage.

A candidate is, in every file ``git ls-files`` lists (the working-tree copy; binary files and symlinks are
skipped):

- every maximal run of 32 or more characters that are neither whitespace nor quotes (``"``, ``'``, and the
  backquote of Markdown and shell);
- every quoted string literal of 32 or more characters on one line, between double or single quotes (a
  single quote inside a word, an apostrophe, opens none), taken as written, escapes included.

Each is recorded as ``stage_secrets.public_value_hash`` (SHA-256, the first 16 hex digits): the file tells
nobody anything the repository does not, and the check hashes a secret the same way.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from chalicelib.stage_secrets import HASH_CHARS, MIN_LENGTH, PUBLIC_VALUES_FILE, public_value_hash

ROOT = Path(__file__).resolve().parent.parent
LIST = PUBLIC_VALUES_FILE.relative_to(ROOT).as_posix()
HEADER = (
    f"# SHA-256 (first {HASH_CHARS} hex digits) of every candidate value committed in the repository this was\n"
    "# deployed from: a cloud stage refuses a secret equal to one of them. Written by deploy/public_values.py.\n"
)
_RUN = re.compile(rf"[^\s\"'`]{{{MIN_LENGTH},}}")
_DOUBLE = rf"\"((?:[^\"\\\n]|\\.){{{MIN_LENGTH},}})\""
# A single quote after a letter is an apostrophe, unless the letters are a string prefix (r'', b'', f'').
_SINGLE = rf"(?<!\w)(?:[rRbBuUfF]{{1,2}})?'((?:[^'\\\n]|\\.){{{MIN_LENGTH},}})'(?!\w)"
_QUOTED = re.compile(f"{_DOUBLE}|{_SINGLE}")


def candidates(text: str) -> set[str]:
    """The candidate values of one file's text."""
    found: set[str] = set(_RUN.findall(text))
    for match in _QUOTED.finditer(text):
        found.add(match.group(1) if match.group(1) is not None else match.group(2))
    return found


def committed_files(root: Path = ROOT) -> list[str]:
    git = ["git", "ls-files", "-z"]
    listed = subprocess.run(git, cwd=root, capture_output=True, check=True).stdout  # noqa: S603 - git on PATH
    return sorted(name for name in listed.decode("utf-8").split("\0") if name and name != LIST)


def _text(path: Path) -> str | None:
    if path.is_symlink() or not path.is_file():
        return None
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def scan(root: Path = ROOT) -> Iterator[tuple[str, str]]:
    """(file, candidate) for every candidate in every committed text file."""
    for name in committed_files(root):
        text = _text(root / name)
        if text is not None:
            for value in sorted(candidates(text)):
                yield name, value


def render(hashes: Iterable[str]) -> str:
    return HEADER + "".join(f"{h}\n" for h in sorted(set(hashes)))


def write(path: Path, root: Path = ROOT) -> int:
    """Write the list of the checkout at ``root`` to ``path``; answers how many hashes it holds."""
    hashes = {public_value_hash(value) for _, value in scan(root)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(hashes), encoding="utf-8")
    return len(hashes)
