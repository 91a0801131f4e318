"""The live API stack of tests/api (uvicorn, PostgreSQL, SMTP, feed and webhook servers)."""

from tests.api.conftest import make_stack, stack

__all__ = ["make_stack", "stack"]
