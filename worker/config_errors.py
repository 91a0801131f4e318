"""Messages for the configuration mistakes people who are not programmers make.

The YAML parser and pydantic describe what they expected in their own terms
("did not find expected '-' indicator", "Input should be a valid tuple"). The
monitors who edit the file need to be told what to write instead: a list where
a string was given, ``- name:`` for a person, the key they probably meant, the
line whose indentation is off. :mod:`worker.config` asks this module for the
message of each problem it found; the file and line are added there.
"""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]

_LIST_ERRORS = frozenset({"tuple_type", "list_type", "set_type", "frozen_set_type"})
_MAPPING_ERRORS = frozenset({"model_type", "dict_type", "model_attributes_type"})
_INDENTATION = re.compile(r"expected '-' indicator|expected key|block end|block mapping")
_EXAMPLES = {"people": "- name: Azimjan Askarov", "near": "- terms: [arrested, defender]"}


def yaml_message(error: yaml.MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """The line and the message for a file the YAML parser could not read."""
    line, hint = _yaml_hint(error, text)
    return line, f"invalid YAML: {hint}"


def _yaml_hint(error: yaml.MarkedYAMLError, text: str) -> tuple[int | None, str]:
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return None, str(error.problem or error)
    number = mark.line + 1
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    problem = str(error.problem or "")
    said = f"(the YAML parser says: {problem})"
    if "'\\t'" in problem or "\t" in line[: len(line) - len(line.lstrip())]:
        return number, (
            f"line {number} is indented with a tab: YAML indents with spaces only, "
            f"replace the tab with spaces {said}"
        )
    key, _, value = line.strip().partition(":")
    flow = value.strip()
    if flow.startswith("[") and flow[1:].lstrip().startswith("-"):
        name = key.strip().lstrip("- ")
        item = flow[1:].lstrip()[1:].split(",")[0].strip(" ]") or "…"
        if name == "people":
            return number, (
                f"inside [ ] there is no '-': write people: and below it one "
                f"'- name: {item}' per person {said}"
            )
        return number, (
            f"inside [ ] there is no '-': write {name}: [{item}, …] or one '- {item}' "
            f"per line below {name}: {said}"
        )
    before = line[: mark.column]
    if "mapping values" in problem and ": " in before.strip():
        return number, (
            f"line {number} has a second ': ' in a value: put the value in quotes, e.g. "
            f'{key.strip()}: "{value.strip()}" {said}'
        )
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        return number, f"a [ or {{ opened before line {number} is not closed {said}"
    if "mapping values" in problem or (
        isinstance(error, yaml.parser.ParserError) and _INDENTATION.search(problem)
    ):
        return number, (
            f"check the indentation of line {number}: the keys of one item start in the "
            f"same column, and each list item starts with '- ' {said}"
        )
    return number, problem or str(error)


def pydantic_message(err: ErrorDetails, loc: Loc, message: str, root: type[BaseModel]) -> str:
    """A message saying what to write, for the mistakes it recognises; else ``message``."""
    value = err.get("input")
    key = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if err["type"] in _LIST_ERRORS and isinstance(value, str):
        items = ", ".join(part.strip() for part in value.split(",") if part.strip())
        return (
            f"{key} is a list, not a single text: write it as a list: {key}: [{items}] "
            "or one '- item' per line"
        )
    if err["type"] in _LIST_ERRORS and isinstance(value, dict):
        example = _EXAMPLES.get(key, "- key: value")
        return f"{key} is a list: start each of its items with '- ', e.g. '{example}'"
    if err["type"] in _MAPPING_ERRORS and isinstance(value, str | int | float):
        if key == "people":
            return (
                f"a person is written with name: — write '- name: {value}' "
                "(and aliases: [...] on the next line if needed)"
            )
        example = _EXAMPLES.get(key, "- key: value")
        return f"expected a mapping (key: value lines) here, not {value!r}: e.g. '{example}'"
    if err["type"] == "extra_forbidden" and loc:
        return _unknown_key(loc, message, root)
    return message


def _unknown_key(loc: Loc, message: str, root: type[BaseModel]) -> str:
    unknown = str(loc[-1])
    allowed = _keys_at(root, loc[:-1])
    if allowed is None:
        return message
    close = difflib.get_close_matches(unknown, allowed, n=1, cutoff=0.6)
    if close:
        return f"{message}: did you mean {close[0]!r}?"
    elsewhere = _levels_with(root, loc[:-1], unknown)
    if elsewhere:
        return (
            f"{message}: it belongs under {elsewhere}; check the indentation of this line "
            "(keys of one item start in the same column)"
        )
    return f"{message} (known keys here: {', '.join(sorted(allowed))})"


def _keys_at(root: type[BaseModel], loc: Loc) -> list[str] | None:
    """The keys the model at ``loc`` accepts, or None when ``loc`` is not a model."""
    model = _model_at(root, loc)
    return None if model is None else list(model.model_fields)


def _levels_with(root: type[BaseModel], loc: Loc, key: str) -> str | None:
    """Where ``key`` would be valid: one level up, or inside a sibling key (misindented)."""
    for end in range(len(loc) - 1, -1, -1):
        if isinstance(loc[end], int):
            continue
        parent = loc[:end]
        model = _model_at(root, parent)
        if model is not None and key in model.model_fields:
            return _describe(parent)
    model = _model_at(root, loc)
    if model is not None:
        for name, field in model.model_fields.items():
            inner = _model_in(field.annotation)
            if inner is not None and key in inner.model_fields:
                return _describe((*loc, name))
    return None


def _describe(loc: Loc) -> str:
    parts = [p for p in loc if isinstance(p, str)]
    return f"{parts[-1]}:" if parts else "the top level"


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        model = None if field is None else _model_in(field.annotation)
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X``, ``X | None``, ``tuple[X, ...]``, ``Annotated[X, …]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin in (tuple, list, Union, types.UnionType, Annotated):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
