"""Table columns sized to their content, for the docx tables and the xlsx sheets.

A column is never narrower than the widest text it cannot break: a device code, a date, a user name, a number —
any run of Latin letters, digits and punctuation (with the Chinese punctuation glued to it), which Word and
LibreOffice break only mid-word when it does not fit; where the columns' needs do not fit the page, the type is
set smaller. Chinese text may wrap between characters, but not to one character a line: a column of Chinese
text gets at least a few characters' width. The width left is handed out where it saves the table most lines
(a row is as tall as its cell of most lines; no column wider than its longest line), by the designed proportions
(Col.width) where no column would save one: a long list of devices gets the room an empty column does not need,
and a long responsible-person text wraps in a few lines.

Widths are estimated from the glyph widths of the fonts the documents fall back to where the GB/T 9704 fonts are
not installed (DejaVu Sans for Latin text, a CJK font for Chinese): Latin glyphs there are wider than in 仿宋_GB2312,
so a width that fits them fits both.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable, Sequence

import numpy as np

MM_PER_PT = 25.4 / 72
CELL_PADDING_MM = 2.6  # the cell's left and right margins (1 mm each, set by common.add_table) and a little air
MIN_WRAP_EM = 3.0  # Chinese text wraps, at least this many characters a line
HEADER_WRAP_EM = 2.0  # a Chinese header may wrap to two characters a line
# Smaller type before anything breaks mid-word: 小四, 五号, 小五, 六号.
FONT_SIZES = (12.0, 10.5, 9.0, 7.5)

# What a line never breaks inside (as LibreOffice and Word lay out mixed text): a run with no space and no Han
# character — a device code, a date, a number, a Latin word, and the Chinese punctuation glued to them
# (S217、K79+325（ is one run).
UNBREAKABLE = re.compile(r"[^\s\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
LONGEST_KEPT_EM = 24.0  # a longer run (a web address) will wrap whatever the width: it sets no column's width

# Advance widths in em of DejaVu Sans (the Latin font LibreOffice falls back to), printable ASCII from " " to "~".
_ASCII_EM = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
    (0.318, 0.401, 0.46, 0.838, 0.636, 0.95, 0.78, 0.275, 0.39, 0.39, 0.5, 0.838, 0.318, 0.361, 0.318, 0.337,
     *[0.636] * 10, 0.337, 0.337, 0.838, 0.838, 0.838, 0.531, 1.0,
     0.684, 0.686, 0.698, 0.77, 0.632, 0.575, 0.775, 0.752, 0.295, 0.295, 0.656, 0.557, 0.863, 0.748, 0.787, 0.603,
     0.787, 0.695, 0.635, 0.611, 0.732, 0.684, 0.989, 0.685, 0.611, 0.685, 0.39, 0.337, 0.39, 0.838, 0.5, 0.5,
     0.613, 0.635, 0.55, 0.635, 0.615, 0.352, 0.635, 0.634, 0.278, 0.278, 0.579, 0.278, 0.974, 0.634, 0.612, 0.635,
     0.635, 0.411, 0.521, 0.392, 0.634, 0.592, 0.818, 0.592, 0.592, 0.525, 0.636, 0.337, 0.636, 0.838)))


def char_em(ch: str) -> float:
    """The advance width of one character in em (a Chinese character or a full-width sign is 1)."""
    if ch in _ASCII_EM:
        return _ASCII_EM[ch]
    if unicodedata.east_asian_width(ch) in ("W", "F", "A"):
        return 1.0
    return 0.7


def text_em(text: str) -> float:
    return sum(char_em(ch) for ch in text)


OPENING = set("（《【“‘(〔[「")  # a line never ends after these: the next character stays with them
CLOSING = set("）》】”’)〕]」、，。；：！？")  # nor starts with these: the character before stays with them


def longest_unbreakable_em(text: str) -> float:
    """The widest part of the text that must stay on one line (0 for text of Chinese characters only), up to
    LONGEST_KEPT_EM: a run, with the character an opening bracket holds after it and the one a closing sign holds
    before it."""
    widest = 0.0
    for m in UNBREAKABLE.finditer(text):
        token, width = m.group(0), text_em(m.group(0))
        if token[-1] in OPENING and m.end() < len(text):
            width += char_em(text[m.end()])
        if token[0] in CLOSING and m.start() > 0:
            width += char_em(text[m.start() - 1])
        widest = max(widest, width)
    return widest if widest <= LONGEST_KEPT_EM else 0.0


def line_em(text: str) -> float:
    """The width of the text's longest line."""
    return max((text_em(line) for line in text.split("\n")), default=0.0)


def column_needs(header: str, texts: Iterable[str]) -> tuple[float, float]:
    """(the least width, the width of one line of the longest text) of a column, in em."""
    need = max(longest_unbreakable_em(header), min(line_em(header), HEADER_WRAP_EM))
    want = line_em(header)
    for text in texts:
        if not text:
            continue
        width = line_em(text)
        need = max(need, longest_unbreakable_em(text), min(width, MIN_WRAP_EM))
        want = max(want, width)
    return need, max(need, want)


class Cells:
    """The cells of a table measured once: each cell's text width in em (its lines added) and its line count."""

    def __init__(self, rows: Sequence[Sequence[str]], n_columns: int) -> None:
        self.em = np.zeros((len(rows), n_columns))
        self.breaks = np.zeros((len(rows), n_columns))
        for r, row in enumerate(rows):
            for c, text in enumerate(row[:n_columns]):
                if text:
                    parts = text.split("\n")
                    self.em[r, c] = sum(text_em(p) for p in parts)
                    self.breaks[r, c] = len(parts) - 1

    def lines(self, widths: Sequence[float], size: float) -> np.ndarray:
        """rows × columns: the lines each cell takes at these widths."""
        room = np.maximum(1.0, (np.asarray(widths) - CELL_PADDING_MM) / (size * MM_PER_PT))
        return np.where(self.em > 0, np.ceil(self.em / room - 1e-9) + self.breaks, 1.0)

    def column_lines(self, column: int, width: float, size: float) -> np.ndarray:
        room = max(1.0, (width - CELL_PADDING_MM) / (size * MM_PER_PT))
        em = self.em[:, column]
        return np.where(em > 0, np.ceil(em / room - 1e-9) + self.breaks[:, column], 1.0)

    def total_lines(self, widths: Sequence[float], size: float) -> int:
        """The table's lines: each row as tall as its cell of most lines."""
        if not len(self.em):
            return 0
        return int(self.lines(widths, size).max(axis=1).sum())


STEPS = 60  # the spare width is handed out in this many parts


def fit_widths(needs: Sequence[float], wants: Sequence[float], weights: Sequence[float], total: float,
               cells: Cells, size: float) -> list[float] | None:
    """Widths filling `total`: every column its need, then the spare width handed out part by part to the column
    that saves the table most lines (rows as tall as their cell of most lines), never beyond its longest line;
    where no column saves a line alone, to the columns as tall as their rows, in proportion to how many rows; else
    in proportion to the designed weights. None when the needs do not fit."""
    if sum(needs) > total + 1e-6:
        return None
    widths = np.array(needs, dtype=float)
    caps = np.maximum(np.array(wants, dtype=float), widths)
    weight = np.array(weights, dtype=float)
    spare = total - widths.sum()
    step = spare / STEPS
    for _part in range(STEPS):
        if spare <= 1e-9:
            break
        open_ = caps - widths > 1e-9
        if not open_.any():
            break
        best, saved = -1, 0
        share = np.where(open_, weight, 0.0)
        if len(cells.em):
            lines = cells.lines(widths, size)
            order = np.sort(lines, axis=1)
            first, second = order[:, -1], (order[:, -2] if lines.shape[1] > 1 else np.ones(len(lines)))
            tallest = lines.argmax(axis=1)
            current = first.sum()
            for c in np.flatnonzero(open_):
                others = np.where(tallest == c, second, first)
                column = cells.column_lines(c, min(caps[c], widths[c] + step), size)
                gain = current - np.maximum(others, column).sum()
                if gain > saved:
                    best, saved = c, gain
            # Where no column saves a line alone (rows as tall in two cells), widen the columns as tall as their rows.
            held = ((lines == first[:, None]) & (first[:, None] > 1)).sum(axis=0) * open_
            if held.any():
                share = held.astype(float)
        give = min(step, spare)
        if best >= 0:
            add = min(give, caps[best] - widths[best])
            widths[best] += add
        else:
            add_each = np.minimum(caps - widths, give * share / share.sum())
            widths += add_each
            add = add_each.sum()
        spare -= add
    if spare > 1e-9:
        widths += spare * weight / weight.sum()
    return widths.tolist()


def docx_widths(columns: Sequence[Any], rows: Sequence[Sequence[str]], width_mm: float, size: float
                ) -> tuple[list[float], float]:
    """(column widths in mm, font size in pt) for a docx table of `rows` (cell texts as printed) filling
    `width_mm`: at the given size, or a smaller one where the columns' needs do not fit, or where the smaller type
    makes the table much shorter (codes held whole can squeeze the other columns into rows of many lines)."""
    measured = [column_needs(c.header, (r[i] for r in rows)) for i, c in enumerate(columns)]
    group_needs = _group_needs(columns)
    weights = [max(c.width, 1.0) for c in columns]
    cells = Cells(rows, len(columns))
    sizes = [s for s in FONT_SIZES if s <= size] or [size]
    fitted: list[tuple[int, list[float], float]] = []  # (estimated lines, widths, size)
    for pt in sizes:
        if fitted and pt < SMALLEST_CHOSEN:
            break
        em = pt * MM_PER_PT
        needs = [n * em + CELL_PADDING_MM for n, _ in measured]
        wants = [w * em + CELL_PADDING_MM for _, w in measured]
        for (start, end), group_em in group_needs:  # an upper header spanning columns needs its own room
            lacking = group_em * em + CELL_PADDING_MM - sum(needs[start:end])
            if lacking > 0:
                for i in range(start, end):
                    needs[i] += lacking / (end - start)
        widths = fit_widths(needs, wants, weights, width_mm, cells, pt)
        if widths is not None:
            fitted.append((cells.total_lines(widths, pt), widths, pt))
    if not fitted:  # too much for the page at any size: every column gives way in proportion to its need
        em = sizes[-1] * MM_PER_PT
        needs = [n * em + CELL_PADDING_MM for n, _ in measured]
        return [width_mm * n / sum(needs) for n in needs], sizes[-1]
    fewest = min(lines for lines, _, _ in fitted)
    _, widths, pt = next(f for f in fitted if f[0] <= fewest * FEWER_LINES)
    return widths, pt


SMALLEST_CHOSEN = 9.0  # 小五: smaller type only where nothing larger fits
FEWER_LINES = 1.25  # the larger type is kept unless the smaller needs at most four fifths of its lines


def _group_needs(columns: Sequence[Any]) -> list[tuple[tuple[int, int], float]]:
    out = []
    i = 0
    while i < len(columns):
        group = columns[i].group
        j = i
        while j + 1 < len(columns) and group is not None and columns[j + 1].group == group:
            j += 1
        if group is not None:
            out.append(((i, j + 1), max(longest_unbreakable_em(group), min(line_em(group), 2 * HEADER_WRAP_EM))))
        i = j + 1
    return out


def xlsx_width(width: float, texts: Iterable[str]) -> float:
    """An Excel column width (in widths of '0'; a Chinese character counts two): the designed width, widened to
    the longest text that cannot wrap, plus a margin."""
    longest = 0
    for text in texts:
        for m in UNBREAKABLE.finditer(text or ""):
            units = len(m.group(0).encode("gbk", "replace"))
            if units <= 2 * LONGEST_KEPT_EM:
                longest = max(longest, units)
    return max(width, longest + 2)


__all__ = ["docx_widths", "xlsx_width", "text_em", "longest_unbreakable_em", "column_needs", "fit_widths", "Cells"]
