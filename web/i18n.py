"""Chinese by default, English on request: a message catalogue keyed by the Chinese text.

Templates and views write `_(message, name=value)` with the Chinese text as message; in English the text comes from translations/en.json.
Placeholders use str.format names. tests/web/test_i18n.py checks that every message has an English entry.
"""
from __future__ import annotations

import json
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable

from flask import g, session

from audit.intake.columns import DEVICE_TYPES_EN

LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"
CATALOGUE = Path(__file__).resolve().parent / "translations" / "en.json"


@lru_cache(maxsize=1)
def catalogue() -> dict[str, str]:
    return json.loads(CATALOGUE.read_text(encoding="utf-8"))


def get_locale() -> str:
    if "locale" not in g:
        lang = session.get("lang")
        g.locale = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    return g.locale


def gettext(message: str, **values: object) -> str:
    return translate(get_locale(), message, **values)


def term(value: str | None, kind: str | None = None) -> str:
    """A domain value (device type, status, severity, action …) in the current language.

    kind picks a specific entry where one word has two meanings, e.g. 停用 as a status ("status:停用").
    """
    return translate_term(get_locale(), value, kind)


def translate(locale: str, message: str, **values: object) -> str:
    text = catalogue().get(message, message) if locale == "en" else message
    return text.format(**values) if values else text


def translate_term(locale: str, value: str | None, kind: str | None = None) -> str:
    if value is None:
        return ""
    if locale != "en":
        return value
    entries = catalogue()
    return (kind and entries.get(f"{kind}:{value}")) or DEVICE_TYPES_EN.get(value) or entries.get(value, value)


def bound(locale: str) -> dict[str, Callable[..., str]]:
    """_ and term for one locale, for a template render (no per-call lookup of the request's locale)."""
    return {"_": partial(translate, locale), "term": partial(translate_term, locale)}
