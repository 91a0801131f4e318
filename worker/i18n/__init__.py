"""Languages of the pages and e-mails: English, Russian, Kyrgyz (gettext catalogues).

The catalogues are the ``.po`` files next to this module, compiled in memory with
Babel when first used, so an installed or editable checkout needs no build step
(and a translator's edit shows on the next start). Templates use Jinja2's i18n
extension (``{{ _("…") }}``, ``{% trans %}``); a message missing from a
catalogue shows in English.
"""

from __future__ import annotations

import gettext
import threading
from collections.abc import Callable
from functools import cache
from importlib import resources
from io import BytesIO
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

DEFAULT = "en"
LANGUAGES: dict[str, str] = {"en": "English", "ru": "Русский", "ky": "Кыргызча"}
"""Code → the language's name in itself (for the switch)."""

_lock = threading.Lock()


def supported(code: str | None) -> str | None:
    """``code`` (``ru``, ``ru-RU``, ``KY``) as one of :data:`LANGUAGES`, or None."""
    if not code:
        return None
    primary = code.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The first supported language of an ``Accept-Language`` header, by q-value."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = supported(tag)
        if code and quality > 0:
            ranked.append((-quality, position, code))
    return min(ranked)[2] if ranked else None


def choose(*candidates: str | None) -> str:
    """The first supported candidate (link, switch, subscriber, browser), else English."""
    for candidate in candidates:
        if code := supported(candidate):
            return code
    return DEFAULT


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language`` (English: the messages as written)."""
    if language == DEFAULT or language not in LANGUAGES:
        return gettext.NullTranslations()
    source = resources.files(__name__) / "locale" / language / "LC_MESSAGES" / "messages.po"
    with source.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def gettext_for(language: str) -> Callable[[str], str]:
    """``_`` for Python code: the message in ``language``."""
    return translations(language).gettext


_environments: dict[tuple[str, str, str], Environment] = {}


def environment(package: str, folder: str, language: str, **options: Any) -> Environment:
    """A Jinja2 environment for ``package``'s ``folder`` of templates in ``language``.

    One per language (cached), autoescaping HTML, undefined names an error.
    """
    key = (package, folder, language)
    with _lock:
        env = _environments.get(key)
        if env is None:
            env = Environment(
                loader=PackageLoader(package, folder),
                autoescape=select_autoescape(["html"]),
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                extensions=["jinja2.ext.i18n"],
                **options,
            )
            env.install_gettext_translations(  # type: ignore[attr-defined]
                translations(language), newstyle=True
            )
            env.globals["language"] = language
            _environments[key] = env
        return env
