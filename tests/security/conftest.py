"""The live API stack of tests/api, for the security tests that need it."""

from tests.api.conftest import make_stack, stack

__all__ = ["make_stack", "stack"]
