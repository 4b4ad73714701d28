"""Characters that have no place in stored text: control characters, and what XML (xlsx, docx) cannot hold.

Uploads are cleaned at the edge (validate.cells reports each cell it changes or refuses); `document_text` is the
one helper every document writer passes text through, so that no stored text can make an export fail.
"""
from __future__ import annotations

import re
from typing import Any

# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; the XML non-characters and lone
# surrogates. None of them is typed on purpose; openpyxl and lxml refuse most of them.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
LINE_BREAKS = re.compile("[\t\r\n\u2028\u2029\x85]")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def has_control(text: str, multiline: bool) -> bool:
    """True if `text` holds a control character (a tab or line break counts unless the column is multiline)."""
    return bool(CONTROL.search(text) or (not multiline and LINE_BREAKS.search(text)))


def without_control(text: str, multiline: bool) -> str:
    """`text` with its control characters removed; in a one-line column a tab or line break becomes a space."""
    text = CONTROL.sub("", text)
    if multiline:
        return text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return re.sub(" {2,}", " ", LINE_BREAKS.sub(" ", text)).strip()


def visible(text: str) -> str:
    """`text` with each control character, tab and line break shown as its escape (\\x01, \\n): for reports."""
    return re.sub(f"{CONTROL.pattern}|{LINE_BREAKS.pattern}", lambda m: m.group(0).encode("unicode_escape").decode(),
                  text)


def first_control(text: str, multiline: bool) -> tuple[int, str]:
    """(1-based position, U+XXXX) of the first control character of `text`."""
    m = CONTROL.search(text) if multiline else re.search(f"{CONTROL.pattern}|{LINE_BREAKS.pattern}", text)
    assert m is not None
    return m.start() + 1, f"U+{ord(m.group(0)):04X}"


def document_text(value: Any) -> Any:
    """A value as a document may hold it: text loses the characters XML cannot carry; other values pass."""
    if isinstance(value, str) and _XML_ILLEGAL.search(value):
        return _XML_ILLEGAL.sub("", value)
    return value
