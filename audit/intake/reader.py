"""Reading an uploaded spreadsheet as it really is: sniff the format, decode, keep every Excel row number.

`read_sheet` returns a RawSheet: a DataFrame of the cells as read (positional columns 0..n-1, first column = Excel
column A; values are str for CSV, and str/float/bool/date/datetime for Excel, '' or NaN when empty), the Excel
row number of every frame row, and the formula and error cells found in an .xlsx. Formulas are never evaluated:
their cells hold the text '=' + formula. On a file-level problem it adds an error to the report and returns None.

Nothing is expanded before it is measured (audit.intake.limits): an .xlsx's zip members by their unzipped size,
a sheet by its declared dimension and by the cells its XML really holds, a CSV by its lines and delimiters. A sheet
is then read row by row, keeping the columns up to the header's last named one (`width`).
"""
from __future__ import annotations

import csv
import html
import io
import itertools
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Iterator
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import python_calamine as pc
from openpyxl.utils import get_column_letter

from .limits import ReadLimits
from .report import ValidationReport

DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # the web's upload limit
ACCEPTED_SUFFIXES = (".xlsx", ".xls", ".csv")
ZIP_MAGIC = b"PK\x03\x04"
CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
SAVE_AS = "请用 Excel 或 WPS 打开后另存为 .xlsx（或 CSV UTF-8）再上传"
# Codes of problems after which there is no sheet to show (PARSE_FAILED: audit.intake.isolated could not read it).
FILE_CODES = frozenset({"FILE_EMPTY", "FILE_TOO_LARGE", "FILE_TYPE", "NOT_SPREADSHEET", "FILE_ENCRYPTED",
                        "FILE_CORRUPT", "FILE_ENCODING", "SHEET_TOO_LARGE", "PARSE_FAILED"})
HEADER_SCAN_ROWS = 30
_SNIFF_RECORDS = 200


@dataclass
class RawSheet:
    """The cells of one sheet as read. frame row i is Excel row row_numbers[i]; column j is Excel column j+1."""

    sheet: str | None
    frame: pd.DataFrame
    row_numbers: np.ndarray
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (excel row, column index) -> '=…'
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # (excel row, column index) -> '#N/A'…
    # CSV: the fields of each of the first HEADER_SCAN_ROWS records, empty ones included (the frame pads every row
    # to the widest); empty where the csv module could not split them
    fields: list[int] = field(default_factory=list)

    def rows(self, start: int = 0, stop: int | None = None) -> list[list[Any]]:
        """Rows as lists of cell values, empty cells as None."""
        part = self.frame.iloc[start:stop].astype(object)
        return part.where(part.notna() & (part != ""), None).to_numpy(dtype=object).tolist()


class _FileProblem(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def read_sheet(path: Path, report: ValidationReport, limits: ReadLimits | None = None, *,
               pick: Any = None, sheet: str | None = None, width: Any = None,
               header_row: Any = None) -> RawSheet | None:
    """The sheet to import from `path`, or None after adding a file-level error to `report`.

    For a workbook, `sheet` names the sheet to read; otherwise `pick(rows) -> bool`, given the first rows of each
    sheet in turn, chooses the first sheet it accepts (default: the first sheet with any non-empty cell); when it
    accepts none, the first sheet with any non-empty cell is read.
    `width(rows) -> int | None`, given the first rows of the chosen sheet, says how many columns to keep (the
    header's last named column); cells further right are not read.
    `header_row(rows) -> int | None`, given the first rows of a CSV, says which is the header: a record below it
    with more values than the header's line has fields is refused (refuse_extra_fields).
    """
    path = Path(path)
    limits = limits or ReadLimits()
    try:
        raw = _read(path, limits, pick, sheet, width, header_row, report)
    except _FileProblem as exc:
        report.error(exc.code, str(exc))
        return None
    report.sheet = raw.sheet
    return raw


def _read(path: Path, limits: ReadLimits, pick: Any, sheet: str | None, width: Any, header_row: Any,
          report: ValidationReport) -> RawSheet:
    kind = file_kind(path, limits, report)
    if kind == "csv":
        raw = _read_csv(path, limits, report)
        head = raw.rows(0, HEADER_SCAN_ROWS)
        keep = width(head) if width is not None else None
        index = header_row(head) if header_row is not None else None
        if index is not None:
            refuse_extra_fields(raw, index + 1, header_fields(raw, index, keep), report)
        _cut_columns(raw, keep, report)
    else:
        raw = _read_workbook(path, kind, pick, sheet, width, limits, report)
    if not _has_value(raw.frame):
        raise _FileProblem("FILE_EMPTY", "文件中没有任何内容（所有单元格都是空的）；请检查是否选错了文件或工作表。")
    return raw


def file_kind(path: Path, limits: ReadLimits, report: ValidationReport) -> str:
    """'xlsx', 'xls' or 'csv' by the file's content, once its suffix and size are accepted (raises _FileProblem;
    a suffix that does not match the content is a warning)."""
    suffix = path.suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        hint = "WPS 表格（.et）、" if suffix == ".et" else ""
        raise _FileProblem("FILE_TYPE", f"不支持“{suffix or '无扩展名'}”文件，只接受 .xlsx、.xls、.csv；"
                                        f"{hint}其他格式请用 Excel 或 WPS 打开后另存为 .xlsx 再上传。")
    size = path.stat().st_size
    if size == 0:
        raise _FileProblem("FILE_EMPTY", "文件是空的（0 字节）；请检查是否选错了文件，或重新保存后上传。")
    if limits.max_bytes is not None and size > limits.max_bytes:
        advice = limits.hint("max_bytes") or ("请删除多余的工作表、图片和空白行，或拆分为几个文件分别上传。" if suffix != ".csv"
                                              else "请按月份或单位拆分为几个文件分别上传。")
        raise _FileProblem("FILE_TOO_LARGE", f"文件大小 {_size(size)}，超过上限 {limits.max_bytes / 1048576:g} MB；"
                                             + advice)
    with path.open("rb") as fh:
        head = fh.read(4096)
    kind = _sniff(head, suffix, path)
    if kind != suffix.lstrip("."):
        report.warning("FILE_SUFFIX", f"文件扩展名为 {suffix}，内容实际是 .{kind} 格式，已按 .{kind} 读取；"
                                      f"建议改正扩展名。")
    return kind


def _size(n: float) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.1f} GB"
    return f"{n / 1048576:.1f} MB" if n >= 104858 else f"{n / 1024:.1f} KB"


def _count(n: int) -> str:
    """A count as a clerk reads it: 1,048,576 → 104.9 万; 17,179,869,184 → 171.8 亿."""
    if n >= 10**8:
        return f"{n / 10**8:.1f}".removesuffix(".0") + "亿"
    return f"{n / 10**4:.1f}".removesuffix(".0") + "万" if n >= 10**5 else f"{n:,}"


def _too_many_rows(rows: int, limits: ReadLimits, where: str) -> _FileProblem:
    return _FileProblem("SHEET_TOO_LARGE", f"{where}有 {rows:,} 行，超过上限 {limits.max_rows:,} 行；请按月份或单位拆分为"
                                           f"几个文件分别上传。{limits.hint('max_rows')}")


def _sniff(head: bytes, suffix: str, path: Path) -> str:
    """'xlsx', 'xls' or 'csv' from the first bytes; raises _FileProblem for anything else."""
    name = suffix.lstrip(".")
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(CFB_MAGIC):
        if name == "xlsx" and not _cfb_holds_xls(head, path):
            raise _FileProblem("FILE_ENCRYPTED", "文件设置了打开密码（已加密），无法读取；请在 Excel 中"
                                                 "“文件—信息—保护工作簿—用密码进行加密”清除密码，保存后重新上传。")
        return "xls"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<html", b"<!doctype", b"<table", b"<?xml", b"<meta")):
        raise _FileProblem("NOT_SPREADSHEET", f"文件扩展名为 {suffix}，内容却是网页（HTML/XML），不是真正的 Excel 文件"
                                              f"（一些系统“导出Excel”生成的就是这种文件）；{SAVE_AS}。")
    if name in ("xlsx", "xls"):
        what = "文本文件" if b"\x00" not in head else "其他格式的文件"
        raise _FileProblem("NOT_SPREADSHEET", f"文件扩展名为 {suffix}，内容却不是 Excel 工作簿（看起来是{what}）；{SAVE_AS}。")
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _FileProblem("NOT_SPREADSHEET", f"文件扩展名为 .csv，内容却不是文本表格；{SAVE_AS}。")
    return "csv"


def _cfb_holds_xls(head: bytes, path: Path) -> bool:
    """True if a CFB (OLE) file names a 'Workbook' (or 'Book') stream in its first directory sector: an .xls.
    Under .xlsx anything else is an encrypted workbook (streams EncryptionInfo / EncryptedPackage)."""
    if len(head) < 0x34:
        return False
    sector_size = 1 << int.from_bytes(head[0x1E:0x20], "little")
    first_dir = int.from_bytes(head[0x30:0x34], "little")
    if sector_size not in (512, 4096) or first_dir >= 0xFFFFFFFA:
        return False
    with path.open("rb") as fh:
        fh.seek((first_dir + 1) * sector_size)
        directory = fh.read(sector_size)
    names = {directory[i:i + 64].decode("utf-16-le", "ignore").split("\x00")[0]
             for i in range(0, len(directory) - 127, 128)}
    return bool(names & {"Workbook", "Book"})


# --- CSV ---------------------------------------------------------------------------------------------------------

UNKNOWN_ENCODING = ("无法识别文件的文字编码（既不是 UTF-8，也不是 GBK/GB18030）；"
                    "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后上传。")
BAD_CHARACTERS = "文件中有无法识别的字符；请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后上传。"


def _encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    raise _FileProblem("FILE_ENCODING", UNKNOWN_ENCODING)


def _read_csv(path: Path, limits: ReadLimits, report: ValidationReport) -> RawSheet:
    data = path.read_bytes()
    encoding = _encoding(data)
    if encoding == "utf-16":
        try:
            data = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            raise _FileProblem("FILE_ENCODING", BAD_CHARACTERS)
        encoding = "utf-8"
    data = lines_ending_in_lf(data)
    sample = data[:65536].decode(encoding, errors="ignore")
    delimiter = _delimiter(sample)
    lines, widest = _line_shape(data, delimiter)
    width = csv_width(lines, widest, limits)
    if widest > limits.max_columns:
        data = _cap_columns(data, delimiter, limits.max_columns, report)
    try:
        frame = pd.read_csv(io.BytesIO(data), encoding=encoding, sep=delimiter, header=None, names=range(width),
                            dtype=str, keep_default_na=False, na_values=[""], skip_blank_lines=False, quotechar='"')
    except (pd.errors.ParserError, ValueError):
        # A quoted field holds line breaks, so a record is wider than any line: the csv module takes ragged rows.
        records = [r[:limits.max_columns] for r in csv.reader(io.StringIO(data.decode(encoding)), delimiter=delimiter)]
        width = max((len(r) for r in records), default=1)
        frame = pd.DataFrame([r + [None] * (width - len(r)) for r in records], dtype=object).replace("", None)
        fields = [len(r) for r in records[:HEADER_SCAN_ROWS]]
    except UnicodeDecodeError:
        raise _FileProblem("FILE_ENCODING", BAD_CHARACTERS)
    else:
        fields = head_fields(io.TextIOWrapper(io.BytesIO(data), encoding, errors="replace", newline=""), delimiter)
    frame.columns = range(frame.shape[1])
    return RawSheet(None, frame, np.arange(1, len(frame) + 1), fields=fields)


def head_fields(text: IO[str], delimiter: str) -> list[int]:
    """The fields of each of the first HEADER_SCAN_ROWS records of a CSV (RawSheet.fields)."""
    try:
        return [len(r) for r in itertools.islice(csv.reader(text, delimiter=delimiter), HEADER_SCAN_ROWS)]
    except csv.Error:
        return []


def header_fields(raw: RawSheet, index: int, keep: int | None) -> int:
    """The fields of a CSV's header line (frame row `index`), empty ones included; at least the header's named
    columns `keep` (the upper line of a two-line header may name more)."""
    return max(raw.fields[index] if index < len(raw.fields) else 0, keep or 0)


_EXTRA_SHOWN = 5


def refuse_extra_fields(raw: RawSheet, start: int, columns: int, report: ValidationReport) -> None:
    """An error for each CSV record from frame row `start` on with a value past the header line's `columns`
    fields (TOO_MANY_FIELDS: an unquoted comma in a number or a text shifts the values after it); those values
    are dropped, so that they are not also reported as cells without a header."""
    frame = raw.frame
    if frame.shape[1] <= columns:
        return
    rest = frame.iloc[start:, columns:]
    refused = []
    for i in np.flatnonzero(rest.notna().to_numpy().any(axis=1)).tolist():
        values = ["" if v is None or v != v else str(v) for v in rest.iloc[i].tolist()]
        filled = [j for j, v in enumerate(values) if v.strip()]
        if not filled:
            continue
        extra = values[:filled[-1] + 1]
        shown = "、".join(f"“{v if len(v) <= 20 else v[:20] + '…'}”" for v in extra[:_EXTRA_SHOWN])
        report.error("TOO_MANY_FIELDS", f"这一行有 {columns + len(extra)} 个值，比表头的 {columns} 列多 {len(extra)} 个"
                                        f"（多出的是{shown}{'等' if len(extra) > _EXTRA_SHOWN else ''}）；数字不要带千分位"
                                        "分隔符（1,234,500 请写成 1234500），含逗号的文字请加英文双引号。",
                     row=int(raw.row_numbers[start + i]))
        refused.append(start + i)
    if refused:
        frame.iloc[refused, columns:] = np.nan


def csv_width(lines: int, widest: int, limits: ReadLimits) -> int:
    """The columns of a CSV of `lines` lines whose widest has `widest` fields that are read, within the limits
    (raises _FileProblem)."""
    if lines > limits.max_rows:
        raise _too_many_rows(lines, limits, "文件")
    width = min(widest, limits.max_columns)
    if lines * width > limits.max_cells:
        raise _FileProblem("SHEET_TOO_LARGE", f"文件有 {lines:,} 行、{width:,} 列，共 {_count(lines * width)}个单元格，"
                                              f"超过上限 {_count(limits.max_cells)}个；请删除多余的列，或拆分为几个文件"
                                              f"分别上传。{limits.hint('max_cells')}")
    return width


def _cut_columns(raw: RawSheet, keep: int | None, report: ValidationReport) -> None:
    """Drop the columns right of the header's last named one (a warning if any of them has content)."""
    if keep is None or raw.frame.shape[1] <= keep:
        return
    rest = raw.frame.iloc[:, keep:]
    filled = (rest.notna() & (rest != "")).any(axis=1).to_numpy()
    raw.frame = raw.frame.iloc[:, :keep]
    if filled.any():
        _columns_not_read(int(raw.row_numbers[np.argmax(filled)]), keep, report)


def _columns_not_read(row: int, keep: int, report: ValidationReport) -> None:
    report.warning("COLUMNS_NOT_READ", f"第{row}行起，表头最后一列（{get_column_letter(keep)}列）右边的单元格有内容，这些内容"
                                       "没有表头，没有读取；如为需要导入的信息，请补上表头。", row=row)


def lines_ending_in_lf(data: bytes) -> bytes:
    """The CSV with each line ending in a line feed: a carriage return alone (the classic Mac OS line end, Excel
    for Mac's "CSV (Macintosh)") becomes one, as pandas reads it, so that lines are counted and cut alike."""
    if data.count(b"\r") == data.count(b"\r\n"):
        return data
    return _LONE_CR.sub(b"\n", data)


_LONE_CR = re.compile(rb"\r(?!\n)")


def _line_shape(data: bytes, delimiter: str) -> tuple[int, int]:
    """(lines, most fields on one line) of a CSV in UTF-8 or GB18030, counted on the bytes before anything is split
    (in both encodings the bytes of the delimiter and of a line feed occur in no other character). Delimiters in
    quoted fields are counted too: the width is an upper bound."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    seps = np.flatnonzero(raw == ord(delimiter))
    lines = len(ends) + (1 if data and not data.endswith(b"\n") else 0)
    # Delimiters before each line end, then per line; the last line may have no line feed.
    before = np.searchsorted(seps, np.append(ends, len(raw)))
    per_line = np.diff(before, prepend=0)
    return lines, int(per_line.max(initial=0)) + 1


def _cap_columns(data: bytes, delimiter: str, max_columns: int, report: ValidationReport) -> bytes:
    """The CSV with every line cut after its max_columns-th field; one warning names the first line cut."""
    sep = delimiter.encode()
    out, first = [], None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.count(sep) >= max_columns:
            cut = -1
            for _ in range(max_columns):
                cut = line.find(sep, cut + 1)
            if first is None and line[cut + 1:].strip(sep + b' \t\r"'):
                first = number
            line = line[:cut] + (b'"' if line[:cut].count(b'"') % 2 else b"") + (b"\r" if line.endswith(b"\r") else b"")
        out.append(line)
    if first is not None:
        report.warning("COLUMNS_NOT_READ", f"第{first}行起有的行超过 {max_columns:,} 列，第 {max_columns:,} 列以后的内容"
                                           "没有读取；如其中有需要导入的数据，请删去无关的列后重新上传。", row=first)
    return b"\n".join(out)


def _delimiter(sample: str) -> str:
    """Comma, tab or semicolon: the one found most often the same number of times per line (comma on a tie)."""
    lines = [line for line in sample.splitlines()[:HEADER_SCAN_ROWS + 20] if line.strip()]
    best, best_score = ",", 0
    for delimiter in (",", "\t", ";"):
        counts = pd.Series([line.count(delimiter) for line in lines], dtype="int64")
        counts = counts[counts > 0]
        score = int(counts.value_counts().iloc[0]) * int(counts.mode().iloc[-1]) if len(counts) else 0
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _records(sample: str, delimiter: str, limit: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
    out = []
    try:
        for record in reader:
            out.append(record)
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


# --- workbooks ---------------------------------------------------------------------------------------------------

def _open_workbook(path: Path, kind: str, limits: ReadLimits) -> pc.CalamineWorkbook:
    try:
        if kind == "xlsx":
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
                if "xl/workbook.xml" not in names:
                    what = "Word 文档" if "word/document.xml" in names else "压缩包或其他 Office 文件"
                    raise _FileProblem("NOT_SPREADSHEET", f"文件内容不是 Excel 工作簿（是{what}）；{SAVE_AS}。")
                _check_unzipped(zf, limits)
                _check_shared_strings(zf, limits)
        with path.open("rb") as fh:
            return pc.CalamineWorkbook.from_filelike(fh)
    except _FileProblem:
        raise
    except pc.PasswordError:
        raise _FileProblem("FILE_ENCRYPTED", "文件设置了打开密码，无法读取；请清除密码（文件—信息—保护工作簿），保存后重新上传。")
    except (zipfile.BadZipFile, pc.CalamineError, OSError, ValueError, EOFError) as exc:
        raise _corrupt(exc)


_PREFIXED_SI = re.compile(rb"<\w+:si[\s/>]")  # <x:si>: a shared text with the namespace's prefix


def _check_shared_strings(zf: zipfile.ZipFile, limits: ReadLimits) -> None:
    """No more shared texts than cells a sheet may have: the reader loads every one of them before any sheet is
    measured (a part of 100 million empty texts, unzipped within the size limit, took 2.7 GB)."""
    for info in zf.infolist():
        if not info.filename.lower().endswith("sharedstrings.xml"):
            continue
        count = 0
        for data in _tag_chunks(zf, info):
            # No other tag of the part begins "<si", and text holds no "<"
            count += data.count(b"<si") + (len(_PREFIXED_SI.findall(data)) if b":si" in data else 0)
            if count > limits.max_cells:
                raise _FileProblem("SHEET_TOO_LARGE", f"文件中有 {_count(count)}个以上的文本单元格内容，超过单元格上限 "
                                                      f"{_count(limits.max_cells)}个：文件可能不是正常导出的。请用 Excel "
                                                      "打开，只保留需要的数据另存为新文件，或拆分为几个文件分别上传。"
                                                      + limits.hint("max_cells"))


def _tag_chunks(zf: zipfile.ZipFile, member: str | zipfile.ZipInfo) -> Iterator[bytes]:
    """A part's XML streamed in chunks of about _CHUNK bytes, each cut before its last "<" (the rest goes with
    the next), so that no tag is split between two; each chunk is checked against the zip's CRC on the way."""
    tail = b""
    with zf.open(member) as fh:
        while chunk := fh.read(_CHUNK):
            data = tail + chunk
            cut = data.rfind(b"<")
            data, tail = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
            yield data


def _corrupt(exc: BaseException) -> _FileProblem:
    return _FileProblem("FILE_CORRUPT", f"文件已损坏，无法读取（{type(exc).__name__}）；请用 Excel 打开，"
                                        "如能打开则另存为新的 .xlsx 后上传，否则请重新导出文件。")


def _check_unzipped(zf: zipfile.ZipFile, limits: ReadLimits) -> None:
    """The parts' unzipped sizes as the zip directory declares them (reading checks each against its CRC)."""
    infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped_bytes:
        biggest = max(infos, key=lambda i: i.file_size)
        raise _FileProblem("FILE_TOO_LARGE", f"文件解压后有 {_size(total)}（其中 {biggest.filename} 为 "
                                             f"{_size(biggest.file_size)}），超过上限 {_size(limits.max_unzipped_bytes)}："
                                             "表格中可能有大量空白行、格式或图片，也可能不是正常导出的文件。请用 Excel 打开，"
                                             "只保留需要的数据另存为新文件，或拆分为几个文件分别上传。"
                                             + limits.hint("max_unzipped_bytes"))


def _read_workbook(path: Path, kind: str, pick: Any, sheet: str | None, width: Any, limits: ReadLimits,
                   report: ValidationReport) -> RawSheet:
    wb = _open_workbook(path, kind, limits)
    too_large: list[_FileProblem] = []
    members: dict[str, str] = {}
    parts = None
    if kind == "xlsx":
        try:
            parts = zipfile.ZipFile(path)
            members = _sheet_members(parts)
        except (zipfile.BadZipFile, OSError, EOFError, KeyError, ElementTree.ParseError) as exc:
            wb.close()
            if parts is not None:
                parts.close()
            raise _corrupt(exc)

    def load(name: str) -> pc.CalamineSheet | None:
        """The sheet, once its size is known to be within the limits (else None, the refusal kept)."""
        try:
            if parts is not None:
                _check_sheet_xml(parts, members, name, limits)
            loaded = wb.get_sheet_by_name(name)
            if kind == "xls" and loaded.end:
                # BIFF has no cheap way to measure a sheet first; calamine's range is at most 65,536 × 256 cells.
                _check_extent(name, loaded.end[0] + 1, loaded.end[1] + 1, limits)
            return loaded
        except _FileProblem as exc:
            if exc.code != "SHEET_TOO_LARGE":
                raise
            too_large.append(exc)
            return None

    try:
        names = wb.sheet_names
        if not names:
            raise _FileProblem("FILE_CORRUPT", "文件中没有任何工作表，无法读取（文件已损坏或不是正常导出的）；请重新导出文件，"
                                               "或在 Excel、WPS 中新建工作簿，把数据填入工作表后另存为 .xlsx 再上传。")
        visible = [m.name for m in wb.sheets_metadata if m.visible == pc.SheetVisibleEnum.Visible]
        order = [n for n in names if n in visible] + [n for n in names if n not in visible]
        chosen, loaded, head, filled = None, None, None, None
        if sheet is not None and sheet in names:
            chosen, loaded = sheet, load(sheet)
        else:
            for name in order:
                loaded = load(name)
                if loaded is None:
                    continue
                head = _head(loaded)
                has_value = _has_value(pd.DataFrame(head, dtype=object))
                if filled is None and has_value:
                    filled = name
                if pick(head) if pick is not None else has_value:
                    chosen = name
                    break
            if chosen is None and too_large:
                raise too_large[0]
            if chosen is None:
                # No sheet accepted: the first with content (its header is what the report is about), else the first
                chosen = filled or order[0]
                loaded = load(chosen) if loaded is None or loaded.name != chosen else loaded
        if loaded is None:
            raise too_large[0]
        head = head if head is not None and loaded.name == chosen else _head(loaded)
        keep = width(head) if width is not None else None
        rows = _rows(loaded, keep, limits, report)
    except (pc.CalamineError, ValueError) as exc:
        raise _FileProblem("FILE_CORRUPT", f"文件已损坏，无法读取（{type(exc).__name__}）；请用 Excel 打开后另存为新的 .xlsx 再上传。")
    finally:
        wb.close()
        if parts is not None:
            parts.close()
    frame = pd.DataFrame(rows, dtype=object) if rows else pd.DataFrame(dtype=object)
    raw = RawSheet(chosen, frame, np.arange(1, len(frame) + 1))
    if kind == "xlsx":
        _substitute_formulas(path, raw, limits, keep, members.get(chosen))
    else:
        report.warning("XLS_FORMULAS", "旧版 .xls 文件中的公式无法识别，公式单元格按 Excel 保存的计算结果读取；"
                                       "建议另存为 .xlsx 后上传，以便检查公式。")
    return raw


def _head(sheet: pc.CalamineSheet) -> list[list[Any]]:
    # skip_empty_area=False: the first row returned is Excel row 1 and the first column is column A.
    return sheet.to_python(skip_empty_area=False, nrows=HEADER_SCAN_ROWS)


def _rows(sheet: pc.CalamineSheet, keep: int | None, limits: ReadLimits, report: ValidationReport) -> list[list[Any]]:
    """Every row of the sheet from Excel row 1 and column A, cut after `keep` columns (a warning names the first
    row whose cells further right are not read)."""
    first_col = sheet.start[1] if sheet.start else 0
    pad = [""] * first_col
    rows: list[list[Any]] = []
    cut_at = None
    for number, row in enumerate(sheet.iter_rows(), start=1):
        if number > limits.max_rows:
            raise _too_many_rows(sheet.total_height, limits, f"工作表“{sheet.name}”")
        row = pad + row if first_col else row
        if keep is not None and len(row) > keep:
            if cut_at is None and any(_filled(v) for v in row[keep:]):
                cut_at = number
            row = row[:keep]
        rows.append(row)
    if cut_at is not None and keep is not None:
        _columns_not_read(cut_at, keep, report)
    return rows


def _filled(value: Any) -> bool:
    return not (value is None or value == "" or (isinstance(value, float) and value != value))


_DIMENSION = re.compile(rb'<(?:[\w.-]+:)?dimension\b[^>]*?\bref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')
# Cell references as Excel, LibreOffice, WPS and openpyxl write them (r="AB12"): scanned fast, longest first.
_REF_LETTERS = {n: re.compile(rb' r="([A-Z]{%d})\d' % n) for n in (3, 2)}
_REF_DIGITS = {n: re.compile(rb' r="[A-Z]{1,3}(\d{%d})"' % n) for n in range(7, 0, -1)}
_ROW_NUMBER = re.compile(rb'<(?:[\w.-]+:)?row\b[^>]*?\sr\s*=\s*["\'](\d+)')
# Anything else a reader still accepts (r='…', line breaks or spaces around =, lower case, more than 3 letters or
# 7 digits) sends the chunk to the exact scan (text in cells may send it there too: that only costs time).
_UNUSUAL_SPELLING = (b"r='", b"r =", b"r= ", b"\nr=", b"\tr=", b"\rr=", b"\nr ", b"\tr ", b"\rr ")
_UNUSUAL_REF = re.compile(rb' r="(?:[A-Z]*[a-z]|[A-Za-z]{4}|[A-Za-z]+\d{8})')
_ANY_REF = re.compile(rb"""<(?:[\w.-]+:)?c\s[^>]*?\br\s*=\s*["']([A-Za-z]+)(\d+)""")
# Cells, and a few other elements (<col>, <cfRule>): an upper bound of the cells a chunk holds.
_CELL_OPEN = (b"<c", b":c>", b":c ", b":c\n")
_CHUNK = 1 << 23


def _check_sheet_xml(zf: zipfile.ZipFile, members: dict[str, str], sheet: str, limits: ReadLimits) -> None:
    """The sheet's declared dimension, then the rows and columns its cells really reach, within the limits.

    Streams the sheet's XML (each chunk checked against the zip's CRC on the way) and looks only at the cell
    references: a cell written at XFD1048576 is found before any reader lays out the 17 billion cells up to it.
    members: each sheet's part in the open workbook zf (_sheet_members).
    """
    try:
        member = members.get(sheet)
        if member is None:
            return
        rows, cols, cells, first = 0, 0, 0, True
        for data in _tag_chunks(zf, member):
            if first:
                _check_dimension(sheet, data, limits)
                first = False
            last_row, last_col = _extent(data)
            rows, cols = max(rows, last_row), max(cols, last_col)
            # Cells written without a reference take the next position: they count one each.
            cells += sum(data.count(tag) for tag in _CELL_OPEN)
            _check_extent(sheet, rows, cols, limits)
            if cells > limits.max_cells:
                raise _FileProblem("SHEET_TOO_LARGE", f"工作表“{sheet}”有 {_count(cells)}个以上的单元格，超过上限 "
                                                      f"{_count(limits.max_cells)}个；请删除无关的内容，或拆分为几个"
                                                      f"文件分别上传。{limits.hint('max_cells')}")
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ElementTree.ParseError) as exc:
        raise _corrupt(exc)


def _check_dimension(sheet: str, data: bytes, limits: ReadLimits) -> None:
    m = _DIMENSION.search(data, 0, data.find(b"sheetData") if b"sheetData" in data else 4096)
    if m and m.group(3):
        rows, cols = int(m.group(4)), _column_index(m.group(3).decode()) + 1
        _check_extent(sheet, rows, cols, limits, declared=f"{(m.group(1) or b'A').decode()}{(m.group(2) or b'1').decode()}:"
                                                          f"{m.group(3).decode()}{m.group(4).decode()}")


def _extent(data: bytes) -> tuple[int, int]:
    """(last row, last column) that the cells of a chunk of sheet XML reach (1-based), by their references."""
    rows = _ROW_NUMBER.findall(data)
    last_row = int(max(rows, key=_len_then_value)) if rows else 0
    if any(data.find(spelling) >= 0 for spelling in _UNUSUAL_SPELLING) or _UNUSUAL_REF.search(data):
        refs = _ANY_REF.findall(data)
        if not refs:
            return last_row, 0
        cols = max((r[0].upper() for r in refs), key=_len_then_value)
        return max(last_row, int(max((r[1].lstrip(b"0") or b"0" for r in refs), key=_len_then_value))), \
            _column_number(cols)
    for pattern in _REF_DIGITS.values():
        digits = pattern.findall(data)
        if digits:
            last_row = max(last_row, int(max(digits)))
            break
    return last_row, _max_col(data)


def _len_then_value(text: bytes) -> tuple[int, bytes]:
    return len(text), text


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


def _max_col(data: bytes) -> int:
    for pattern in _REF_LETTERS.values():
        letters = set(pattern.findall(data))
        if letters:
            return _column_number(max(letters, key=_len_then_value))
    for letter in range(ord("Z"), ord("A") - 1, -1):
        if data.find(b' r="' + bytes([letter])) >= 0:
            return letter - ord("A") + 1
    return 0


def _check_extent(sheet: str, rows: int, cols: int, limits: ReadLimits, declared: str | None = None) -> None:
    if rows > limits.max_rows:
        raise _too_many_rows(rows, limits, f"工作表“{sheet}”" + (f"（声明的范围为 {declared}）" if declared else ""))
    if rows * cols > limits.max_cells:
        where = (f"声明的内容范围为 {declared}" if declared else
                 f"内容从 A1 延伸到第 {rows:,} 行、{get_column_letter(cols) if cols <= 18278 else f'第 {cols:,}'} 列")
        raise _FileProblem("SHEET_TOO_LARGE", f"工作表“{sheet}”{where}，共约 {_count(rows * cols)}个单元格，超过上限"
                                              f" {_count(limits.max_cells)}个：表格最下方或最右边可能有误操作留下的内容或格式。"
                                              "请在 Excel 中选中数据下方多余的行、右边多余的列，整行整列删除后保存，再上传。"
                                              + limits.hint("max_cells"))


def _has_value(frame: pd.DataFrame) -> bool:
    """True if any cell is not empty or blank (the first rows are looked at first: the usual case is quick)."""
    for part in (frame.head(100), frame):
        for col in part.columns:
            values = pd.unique(part[col].to_numpy(dtype=object))
            if any(not (v is None or v != v or isinstance(v, str) and not v.strip()) for v in values):
                return True
    return False


# --- formulas in .xlsx -------------------------------------------------------------------------------------------

_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_F_OPEN = re.compile(rb"<(?:[\w.-]+:)?f\b([^>]*?)(/?)>")
_ERROR_CELL = re.compile(rb'<(?:[\w.-]+:)?c\b[^>]*?\bt="e"[^>]*>')
_V_TEXT = re.compile(rb"<(?:[\w.-]+:)?v>([^<]*)</")
_A1 = re.compile(r"(?<![A-Za-z0-9_.])(\$?)([A-Z]{1,3})(\$?)(\d+)(?![A-Za-z0-9_(])")


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _sheet_members(zf: zipfile.ZipFile) -> dict[str, str]:
    """Each sheet's name -> its XML part in the workbook (those the workbook's relationships name and the zip
    holds), read once per file: a workbook may have thousands of sheets."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
          "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
    book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{ns['p']}}}Relationship")}
    present = set(zf.namelist())
    members: dict[str, str] = {}
    for sheet in book.iter(f"{{{ns['m']}}}sheet"):
        name, target = sheet.get("name"), targets.get(sheet.get(f"{{{ns['r']}}}id"))
        if name is None or target is None or name in members:
            continue
        member = _part_path(target)
        if member in present:
            members[name] = member
    return members


def _part_path(target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for part in PurePosixPath("xl", target).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _substitute_formulas(path: Path, raw: RawSheet, limits: ReadLimits, keep: int | None, member: str | None) -> None:
    """Find formula and error cells in the sheet XML (its part `member`, _sheet_members); put '=' + formula (or the
    error text) in their place (within the columns kept; the XML was measured by _check_sheet_xml)."""
    if member is None:
        return
    with zipfile.ZipFile(path) as zf:
        data = zf.read(member)
    has_formula = data.find(b"f>") >= 0  # every formula has a closing </f> (or </x:f>) in its sheet
    has_error = data.find(b't="e"') >= 0
    if not (has_formula or has_error):
        return
    cells: dict[tuple[int, int], tuple[str, bool]] = {}
    if has_formula:
        shared: dict[bytes, tuple[str, int, int]] = {}
        pending: list[tuple[int, int, bytes]] = []
        for m in _F_OPEN.finditer(data):
            ref = _cell_ref_before(data, m.start())
            if ref is None:
                continue
            row, col = ref
            attrs, closed = m.group(1), m.group(2)
            si = re.search(rb'\bsi="(\d+)"', attrs)
            text = "" if closed else html.unescape(data[m.end():data.find(b"<", m.end())].decode("utf-8"))
            if text:
                cells[(row, col)] = ("=" + text, True)
                if si and b'"shared"' in attrs:
                    shared[si.group(1)] = (text, row, col)
            elif si:
                pending.append((row, col, si.group(1)))
        for row, col, si in pending:
            if si in shared:
                text, row0, col0 = shared[si]
                cells[(row, col)] = ("=" + _shift(text, row - row0, col - col0), True)
    if has_error:
        for m in _ERROR_CELL.finditer(data):
            ref = _CELL_REF.search(m.group(0))
            if ref is None:
                continue
            key = (int(ref.group(2)), _column_index(ref.group(1).decode()))
            if key not in cells:
                v = _V_TEXT.search(data, m.end(), m.end() + 400)
                cells[key] = (html.unescape(v.group(1).decode()) if v else "#VALUE!", False)
    placed = {(row, col): v for (row, col), v in cells.items()
              if 1 <= row <= limits.max_rows and (keep is None or col < keep)}
    frame = raw.frame
    if placed:
        # The frame grown once to hold every such cell (a formula without a cached value may lie past its end)
        rows = max(len(frame), max(row for row, _ in placed))
        cols = max(frame.shape[1], max(col for _, col in placed) + 1)
        if (rows, cols) != frame.shape:
            frame = frame.reindex(index=range(rows), columns=range(cols)).astype(object)
    for (row, col), (text, is_formula) in placed.items():
        frame.iat[row - 1, col] = text
        (raw.formulas if is_formula else raw.errors)[(row, col)] = text
    raw.frame = frame
    raw.row_numbers = np.arange(1, len(frame) + 1)


_CELL_TAG_REACH = 4096  # bytes before a formula within which its cell's start tag lies


def _cell_ref_before(data: bytes, pos: int) -> tuple[int, int] | None:
    # searched back a bounded way: a tag absent from the sheet would otherwise be looked for back to its start
    since = max(0, pos - _CELL_TAG_REACH)
    start = max(data.rfind(token, since, pos) for token in (b"<c ", b":c ", b"<c>", b":c>"))
    if start < 0:
        return None  # a cell without an r attribute: its position is implied, and not worked out here
    end = data.find(b">", start)
    m = _CELL_REF.search(data, start, end)
    if m is None:
        return None
    return int(m.group(2)), _column_index(m.group(1).decode())


def _shift(formula: str, drow: int, dcol: int) -> str:
    """A shared formula as it reads in a cell drow rows and dcol columns from its master cell."""
    def move(m: re.Match) -> str:
        col_abs, letters, row_abs, digits = m.groups()
        col = letters if col_abs else get_column_letter(_column_index(letters) + dcol + 1)
        row = digits if row_abs else str(int(digits) + drow)
        return f"{col_abs}{col}{row_abs}{row}"

    parts = formula.split('"')
    parts[::2] = [_A1.sub(move, p) for p in parts[::2]]  # not inside string literals
    return '"'.join(parts)
