#!/usr/bin/env python3
"""Check deploy/.env against deploy/compose.yaml before `docker compose up`.

Compose substitutes only the variables its file names (`${NAME}`, `${NAME:-default}`) and ignores
every other line of the env file without a word: a misspelt SECERT_KEY leaves SECRET_KEY at its
default and nobody is told. This refuses (exit 1) a variable compose.yaml never reads, naming the
one it was probably meant to be, and a value still reading CHANGE-ME; it prints nothing secret.

    python3 deploy/check_env.py                  # checks deploy/.env
    python3 deploy/check_env.py path/to/file.env
"""
from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
COMPOSE = DEPLOY / "compose.yaml"
# ${NAME}, ${NAME:-default}, ${NAME?message}: a reference compose substitutes ($${...} is a literal $)
REFERENCE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
PLACEHOLDER = "CHANGE-ME"


def variables_compose_reads(compose: Path = COMPOSE) -> set[str]:
    return set(REFERENCE.findall(compose.read_text()))


def problems(env_file: Path, known: set[str]) -> list[str]:
    """What is wrong with the env file, a line each, naming line numbers and variables only."""
    found = []
    for number, line in enumerate(env_file.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assigned = ASSIGNMENT.match(line)
        if not assigned:
            found.append(f"line {number}: not NAME=value")
            continue
        name, value = assigned.group(1), assigned.group(2)
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
            hint = f" (did you mean {near[0]}?)" if near else ""
            found.append(f"line {number}: {name} is not read by compose.yaml{hint}")
        elif PLACEHOLDER in value:
            found.append(f"line {number}: {name} still reads {PLACEHOLDER}")
    return found


def main(argv: list[str]) -> int:
    env_file = Path(argv[1]) if len(argv) > 1 else DEPLOY / ".env"
    if not env_file.is_file():
        print(f"{env_file} is missing: cp deploy/compose.env.example deploy/.env and fill it in")
        return 1
    found = problems(env_file, variables_compose_reads())
    for problem in found:
        print(f"{env_file}: {problem}")
    if found:
        return 1
    print(f"{env_file}: every variable is one compose.yaml reads, and none reads {PLACEHOLDER}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
