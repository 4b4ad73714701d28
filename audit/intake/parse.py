"""Cell value parsers of the upload reader: text, codes, numbers, coordinates, yes/no, dates and months.

Each scalar parser returns the parsed value, None for an empty cell, or raises ValueError (whose message, if any,
is a Chinese hint for the clerk). `parse_unique` applies a scalar parser to the distinct values of a column only
and maps the results back, so a million rows with a few thousand distinct dates cost a few thousand calls.
Header matching (`header_variants`) lives here too: it is the same normalisation applied to the header row.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

# Cell texts that mean "nothing here" in Chinese forms.
PLACEHOLDERS = frozenset({"-", "--", "—", "——", "/", "\\", "n/a", "N/A", "#N/A", "NULL", "null", "None", "nan"})
# Marks that show nothing (zero-width, soft hyphen, the direction marks and embeddings a copy from a web page or
# another program brings along): removed, so that "JL-0001" with one of them is not a second device that looks alike.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d"
                                    "\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"), None) \
    | {0xA0: " ", 0x3000: " "}
FORMULA_PREFIXES = ("=", "+", "-", "@")

EXCEL_EPOCH = dt.date(1899, 12, 30)
MIN_YEAR, MAX_YEAR = 1900, 2100


# --- text --------------------------------------------------------------------------------------------------------

def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def clean_text(value: Any) -> str | None:
    """Free text as given: stripped (also of full-width and no-break spaces and zero-width marks); Chinese intact."""
    if _is_missing(value):
        return None
    if isinstance(value, str):
        text = value.translate(_INVISIBLE).strip()
    elif isinstance(value, bool):
        text = "是" if value else "否"
    elif isinstance(value, (int, float)):
        text = _number_text(value)
    elif isinstance(value, dt.datetime):
        text = value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = str(value).strip()
    return None if not text or text in PLACEHOLDERS else text


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def clean_code(value: Any) -> str | None:
    """An identifier or a drop-down value: NFKC (full-width letters, digits, dashes → half-width) and stripped."""
    text = clean_text(value)
    if text is None:
        return None
    text = nfkc(text).strip()
    return text or None


# Where clean_text or clean_code could change a text: an invisible mark, a space it maps, or whitespace at either
# end of a text of texts joined by NUL (a starter nothing composes with, so NFKC of the whole is NFKC of each).
_UNCLEAN = re.compile("[" + "".join(map(chr, _INVISIBLE)) + r"]|(?:^|\x00)\s|\s(?:\x00|$)")


def _fast_clean(uniques: np.ndarray, code: bool) -> tuple[np.ndarray, np.ndarray]:
    """Bulk clean_text (clean_code if `code`): when no text of the column has anything to clean (nothing to strip,
    no invisible mark, no placeholder, and for a code already NFKC), the texts are their own results; otherwise
    the scalar parser takes every value."""
    is_text = np.fromiter((type(u) is str for u in uniques), dtype=bool, count=len(uniques))
    texts = uniques[is_text].tolist()
    joined = "\x00".join(texts)
    if (not texts or _UNCLEAN.search(joined) or "" in texts or not PLACEHOLDERS.isdisjoint(texts)
            or (code and not unicodedata.is_normalized("NFKC", joined))):
        return uniques, np.zeros(len(uniques), dtype=bool)
    return uniques, is_text


def fast_texts(uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _fast_clean(uniques, code=False)


def fast_codes(uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _fast_clean(uniques, code=True)


def choice_parser(choices: tuple[str, ...], synonyms: dict[str, str] | None = None) -> Callable[[Any], str | None]:
    """A parser accepting `choices` (ignoring case, spaces and width) and the given synonyms."""
    lookup = {_choice_key(c): c for c in choices}
    lookup |= {_choice_key(k): v for k, v in (synonyms or {}).items()}

    def parse(value: Any) -> str | None:
        text = clean_code(value)
        if text is None:
            return None
        try:
            return lookup[_choice_key(text)]
        except KeyError:
            raise ValueError from None

    return parse


def _choice_key(text: str) -> str:
    return re.sub(r"\s+", "", nfkc(text)).casefold()


# --- numbers -----------------------------------------------------------------------------------------------------

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_UNIT = re.compile(r"(元|米|公里/小时|千米/小时|km/h|kmh|m|次|起|条|件|个)$", re.IGNORECASE)
_PAIR = re.compile(r"^[+-]?\d+(\.\d+)?\s*[,;，；\s]\s*[+-]?\d+(\.\d+)?$")


def parse_number(value: Any) -> float | None:
    """A number: full-width digits, thousands separators, stray spaces, ¥ and a unit suffix are accepted."""
    if _is_missing(value):
        return None
    if isinstance(value, bool):
        raise ValueError("应为数字，不是是/否")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        raise ValueError("应为数字，单元格却是日期或时间格式；请将单元格格式改为“常规”或“数值”")
    text = clean_text(value)
    if text is None:
        return None
    text = nfkc(text).strip()
    if text.startswith("="):
        raise ValueError(f"单元格为公式“{text}”，系统不计算公式；请填写数值本身")
    text = re.sub(r"\s+", "", text).lstrip("¥$")
    text = _UNIT.sub("", text)
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        number = float(text)
    except ValueError:
        raise ValueError from None
    if not math.isfinite(number):
        raise ValueError
    return number


def parse_int(value: Any) -> int | None:
    number = parse_number(value)
    if number is None:
        return None
    if not number.is_integer():
        raise ValueError("应为整数")
    return int(number)


# Degrees and minutes (seconds optional): a bare "117度" is far too coarse for a device and is refused.
_DMS = re.compile(r"^(\d+)\s*[°度]\s*(\d+(?:\.\d+)?)\s*['′’分]\s*(?:(\d+(?:\.\d+)?)\s*(?:\"|″|”|''|′′|秒))?$")
_HEMI_PREFIX = re.compile(r"^(东经|北纬|西经|南纬|[ENWSenws])\s*")
_HEMI_SUFFIX = re.compile(r"\s*([ENWSenws])$")


def parse_coordinate(value: Any) -> float | None:
    """A coordinate in decimal degrees (or metres); also 117°28′23.2″E, 东经117.47312, N26.7 forms."""
    try:
        return parse_number(value)
    except ValueError as exc:
        if not isinstance(value, str) or exc.args:
            raise
    text = nfkc(value).strip()
    if _PAIR.match(text):
        raise ValueError("一个单元格里填了两个数；经度、纬度须分别填在两列")
    sign = 1.0
    for pattern in (_HEMI_PREFIX, _HEMI_SUFFIX):
        if m := pattern.search(text):
            if m.group(1) in ("西经", "南纬") or m.group(1).upper() in ("W", "S"):
                sign = -1.0
            text = (text[: m.start()] + text[m.end():]).strip()
    try:
        return sign * float(text)
    except ValueError:
        pass
    if m := _DMS.match(text):
        degrees, minutes, seconds = (float(g) if g else 0.0 for g in m.groups())
        if minutes < 60 and seconds < 60:
            return sign * (degrees + minutes / 60 + seconds / 3600)
    raise ValueError


# --- yes / no ----------------------------------------------------------------------------------------------------

_TRUE = {"是", "有", "y", "yes", "true", "t", "1", "√", "✓", "✔", "对"}
_FALSE = {"否", "无", "没有", "n", "no", "false", "f", "0", "×", "✗", "✘", "x", "错"}
BOOL_HINT = "是/否、有/无、Y/N、√/×、1/0"


def parse_bool(value: Any) -> bool | None:
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float)):
        if value in (0, 1):
            return bool(value)
        raise ValueError
    text = clean_code(value)
    if text is None:
        return None
    key = text.casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError


# --- dates -------------------------------------------------------------------------------------------------------

_TIME = r"(?:[ T]+\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?)?"
_DAY_PATTERNS = (
    re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})" + _TIME + "$"),
    re.compile(r"^(\d{4})(年)(\d{1,2})月(\d{1,2})[日号]?" + _TIME + "$"),
    re.compile(r"^(\d{4})()(\d{2})(\d{2})$"),
)
_MONTH_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月份?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
)
_SERIAL = re.compile(r"^\d{5}(\.\d+)?$")
MIN_SERIAL = 10000  # 1927-05-18; a smaller number in a date column is more likely a year or a typo
DATE_HINT = "请按 2024-03-05 的格式填写（也可写 2024/3/5、2024年3月5日、20240305）"
MONTH_HINT = "按日请填 2024-03-05，按月请填 2024-03（也可写 2024年3月、202403）"


def _make_date(year: int, month: int, day: int) -> dt.date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"年份 {year} 不合理")
    if not 1 <= month <= 12:
        raise ValueError(f"月份 {month} 不合理")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{year}年{month}月没有{day}日") from None


def _from_serial(number: float) -> dt.date:
    if not MIN_SERIAL <= number < 2958466:
        raise ValueError
    return _make_date_checked(EXCEL_EPOCH + dt.timedelta(days=int(number)))


def _make_date_checked(date: dt.date) -> dt.date:
    if not MIN_YEAR <= date.year <= MAX_YEAR:
        raise ValueError(f"年份 {date.year} 不合理")
    return date


def _date_from_number(number: float) -> dt.date:
    if number.is_integer() and 19000101 <= number <= 21001231:
        text = str(int(number))
        return _make_date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return _from_serial(number)


def parse_date(value: Any) -> dt.date | None:
    """A calendar day from a date/datetime cell, an Excel serial number or one of the accepted text forms."""
    if _is_missing(value):
        return None
    if isinstance(value, dt.datetime):
        return _make_date_checked(value.date())
    if isinstance(value, dt.date):
        return _make_date_checked(value)
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _date_from_number(float(value))
    if isinstance(value, (dt.time, dt.timedelta)):
        raise ValueError("单元格是时间，不是日期")
    text = clean_code(value)
    if text is None:
        return None
    text = re.sub(r"\s*([-/.年月日])\s*", r"\1", text)
    for pattern in _DAY_PATTERNS:
        if m := pattern.match(text):
            return _make_date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
    if _SERIAL.match(text):
        return _from_serial(float(text))
    if text.startswith("="):
        raise ValueError(f"单元格为公式“{text}”，系统不计算公式；请填写日期本身")
    if any(p.match(text) for p in _MONTH_PATTERNS):
        raise ValueError("只有年月，缺少日")
    raise ValueError


def parse_month_or_date(value: Any) -> tuple[str, dt.date] | None:
    """('day', date) for a day, ('month', first of month) for a month such as 2024-03, 2024年3月 or 202403."""
    if _is_missing(value):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
        if number.is_integer() and 190001 <= number <= 210012:
            text = str(int(number))
            return "month", _make_date(int(text[:4]), int(text[4:]), 1)
    if isinstance(value, str):
        text = clean_code(value)
        if text is None:
            return None
        text = re.sub(r"\s*([-/.年月])\s*", r"\1", text)
        for pattern in _MONTH_PATTERNS:
            if m := pattern.match(text):
                month = int(m.group(2))
                if not 1 <= month <= 12:
                    raise ValueError(f"月份 {month} 不合理")
                return "month", _make_date(int(m.group(1)), month, 1)
    day = parse_date(value)
    return None if day is None else ("day", day)


# --- applying a parser to a column -------------------------------------------------------------------------------

@dataclass
class Parsed:
    """A parser applied to a column: per distinct value the result, plus the row → distinct value codes."""

    codes: np.ndarray  # row -> index into results; -1 for a missing cell
    results: list[Any]  # parsed value per distinct value (None if empty or bad)
    uniques: list[Any]  # the distinct raw values
    bad_unique: np.ndarray  # bool per distinct value (with a trailing False for missing cells)
    reasons: list[str]  # hint per distinct value ('' if none)

    def __post_init__(self) -> None:
        self._empty_unique = np.array([r is None for r in self.results] + [True]) & ~self.bad_unique

    @property
    def bad(self) -> np.ndarray:
        return self.bad_unique[self.codes]

    @property
    def empty(self) -> np.ndarray:
        return self._empty_unique[self.codes]

    def key_codes(self) -> np.ndarray:
        """Per row, an integer identifying the parsed value (equal values, equal codes); -1 if empty or bad."""
        norm, _ = pd.factorize(pd.Series(self.results + [None], dtype=object), use_na_sentinel=True)
        norm[np.flatnonzero(self.bad_unique)] = -1
        return norm[self.codes]

    def take(self, values: list[Any] | np.ndarray | None = None, missing: Any = None,
             dtype: Any = object) -> np.ndarray:
        """Per row: `values` (per distinct value; default the results), `missing` for missing cells."""
        source = self.results if values is None else values
        table = np.empty(len(source) + 1, dtype=dtype)
        table[:-1] = source
        table[-1] = missing
        return table[self.codes]

    def reason(self, row_index: int) -> str:
        code = self.codes[row_index]
        return self.reasons[code] if code >= 0 else ""

    def raw(self, row_index: int) -> Any:
        code = self.codes[row_index]
        return self.uniques[code] if code >= 0 else None


def factorize(values: pd.Series | np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """(per row the index of its distinct value, -1 if missing; the distinct values)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    return codes, list(uniques)


def parse_unique(values: pd.Series | np.ndarray | tuple[np.ndarray, list[Any]], parser: Callable[[Any], Any],
                 fast: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None) -> Parsed:
    """Apply `parser` to each distinct value of `values` (or of an earlier `factorize(values)`).

    `fast`, if given, takes the distinct values and returns (results, done mask) for those it could parse in bulk;
    the scalar parser handles the rest.
    """
    codes, uniques = values if isinstance(values, tuple) else factorize(values)
    results: list[Any] = [None] * len(uniques)
    bad = np.zeros(len(uniques) + 1, dtype=bool)
    reasons = [""] * len(uniques)
    done = np.zeros(len(uniques), dtype=bool)
    if fast is not None and uniques:
        fast_results, done = fast(np.array(uniques, dtype=object))
        for i in np.flatnonzero(done):
            results[i] = fast_results[i]
    for i in np.flatnonzero(~done):
        try:
            results[i] = parser(uniques[i])
        except ValueError as exc:
            bad[i] = True
            reasons[i] = str(exc.args[0]) if exc.args else ""
    return Parsed(np.asarray(codes, dtype=np.intp), results, uniques, bad, reasons)


def fast_numbers(uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bulk parse of plain numbers (and numeric text) with pandas; the rest is left to `parse_number`."""
    numbers = pd.to_numeric(pd.Series(uniques, dtype=object).map(_plain_number_text), errors="coerce")
    values = numbers.to_numpy(dtype=float, na_value=np.nan)
    return values, np.isfinite(values)


def _plain_number_text(value: Any) -> Any:
    if isinstance(value, str):
        return value if value[:1].isdigit() and value[-1:].isdigit() and value.isascii() else None
    if isinstance(value, bool):
        return None
    return value if isinstance(value, (int, float)) else None


def fast_iso_dates(uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bulk parse of ISO dates (2024-03-05) with pandas; other forms are left to the scalar parser."""
    text = pd.Series(uniques, dtype=object).map(lambda v: v if isinstance(v, str) and len(v) == 10 else None)
    stamps = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    ok = stamps.notna() & stamps.dt.year.between(MIN_YEAR, MAX_YEAR)
    return np.array([s.date() if k else None for s, k in zip(stamps, ok)], dtype=object), ok.to_numpy()


def fast_iso_days(uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`fast_iso_dates` for a day-or-month column: ISO dates become ('day', date)."""
    dates, done = fast_iso_dates(uniques)
    out = np.empty(len(dates), dtype=object)
    out[:] = [("day", d) if k else None for d, k in zip(dates, done)]
    return out, done


# --- headers -----------------------------------------------------------------------------------------------------

_HEADER_NOISE = re.compile(r"[\s*＊※_\-—:：·\x00-\x1f\x7f-\x9f]+")
_BRACKETED = re.compile(r"[(\[【〔<《][^)\]】〕>》]*[)\]】〕>》]")
_BRACKETS = re.compile(r"[()\[\]【】〔〕<>《》]")


def cell_label(cell: Any) -> str | None:
    """A header cell as shown in reports: its text as in the file, stripped, runs of whitespace as one space."""
    text = clean_text(cell)
    return None if text is None else re.sub(r"\s+", " ", text)


def header_variants(text: Any) -> tuple[str, ...]:
    """Normalised forms of a header cell: without bracketed units, then with the brackets only removed.

    NFKC, case-insensitive, ignoring spaces, '*', dashes and underscores: '设备编号*', 'Device Code',
    '罚款金额（元）' and '标识距离(米)' match '设备编号', 'device_code', '罚款金额' and '标识距离米'.
    """
    if not isinstance(text, str):
        return ()
    base = _HEADER_NOISE.sub("", nfkc(text).casefold())
    variants = (_BRACKETED.sub("", base), _BRACKETS.sub("", base))
    return tuple(dict.fromkeys(v for v in variants if v))
