"""Find watched people and terms in entries, across scripts, spellings and case endings.

`compile_matcher` folds every watch list into one automaton (do it once per
config version and cache the result); `Matcher.match` returns the hits of one
document. See docs/MATCHING.md for the rule language and the folding rules.
"""

from .engine import Matcher, compile_matcher
from .folding import fold_token

__all__ = ["Matcher", "compile_matcher", "fold_token"]
