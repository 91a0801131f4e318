"""Per-operator desk passwords: ``rightswatch hash-password`` reads the password from
standard input (never argv) and prints an Argon2id hash that the YAML's ``password_hash``
accepts; anything else there is a configuration error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import run_rightswatch
from worker.config import load_config
from worker.core.errors import ConfigError
from worker.security import passwords

CONFIG = """\
feeds:
  - id: news
    url: https://example.org/feed.xml
operators:
  - id: anna
    email: anna@example.org
    password_hash: {hash}
"""


def test_hash_password_reads_stdin_and_the_yaml_accepts_its_hash(
    write_config: Callable[..., Path],
) -> None:
    made = run_rightswatch("hash-password", stdin="мой пароль из слов\n")
    assert made.returncode == 0, made.stderr
    hashed = made.stdout.strip()
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "пароль" not in made.stdout + made.stderr
    assert passwords.verify(hashed, "мой пароль из слов")
    assert not passwords.verify(hashed, "мой пароль из слов\n")
    assert not passwords.verify(None, "мой пароль из слов")  # no such operator
    (anna,) = load_config(write_config(CONFIG.format(hash=f'"{hashed}"'))).config.operators
    assert anna.password_hash == hashed and hashed not in repr(anna)
    assert run_rightswatch("hash-password", stdin="\n").returncode == 1
    assert run_rightswatch("hash-password", "secret", stdin="x\n").returncode == 2  # no argv


@pytest.mark.parametrize(
    "value", ["plain-text-password", '"$2b$12$bcryptisnotaccepted............"', "''"]
)
def test_a_password_hash_that_is_not_argon2id_is_a_config_error(
    write_config: Callable[..., Path], value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(CONFIG.format(hash=value)))
    (problem,) = caught.value.problems
    assert "password_hash must be an Argon2id hash" in str(problem)
