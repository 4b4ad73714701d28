"""Department names as clerks type them: one department however its name is spaced or typed in full width."""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# A space next to a CJK character or full-width punctuation carries no meaning in a Chinese name.
_CJK = r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef（）]"
_CJK_SPACE = re.compile(rf"(?<={_CJK}) | (?={_CJK})")


def clean_name(name: str | None) -> str:
    """The name as it should be stored: NFKC (full-width letters, digits and spaces folded), whitespace collapsed,
    spaces beside Chinese characters removed, ends stripped. Brackets stay as typed (（）)."""
    text = unicodedata.normalize("NFKC", name or "")
    text = text.replace("(", "（").replace(")", "）") if re.search(r"[\u4e00-\u9fff]", text) else text
    text = _SPACES.sub(" ", text).strip()
    return _CJK_SPACE.sub("", text)


def department_key(name: str | None) -> str:
    """The matching key of a department name: its clean form, case-folded (for names in Latin letters)."""
    return clean_name(name).casefold()
