"""Fixtures that build upload files (good and bad) in tmp_path, laid out as departments really fill them."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any, Callable

import openpyxl
import pytest

DEVICE_HEADER = ["设备编号*", "设备类型*", "经度*", "纬度*", "坐标系", "安装日期", "启用日期", "标识设置",
                 "限速值", "最近检定日期", "检定有效期至"]


class Text(str):
    """A cell value written as a text cell even if it starts with '=' (openpyxl would make it a formula)."""


def good_device(code: str = "JL-SC-0001", **changes: Any) -> list[Any]:
    """One valid device row in DEVICE_HEADER order; keyword arguments replace cells by header (without '*')."""
    row = {"设备编号": code, "设备类型": "固定测速", "经度": 117.47312, "纬度": 26.72851, "坐标系": "WGS84",
           "安装日期": "2023-05-10", "启用日期": "2023-07-01", "标识设置": "是", "限速值": 60,
           "最近检定日期": "2024-05-20", "检定有效期至": "2025-05-19"}
    row.update(changes)
    return list(row.values())


def write_form(path: Path, header: list[Any], rows: list[list[Any]], *, title: str | None = "非现场执法设备登记表",
               unit: str | None = "填报单位：将乐县公安局交警大队    填报日期：2024年6月1日", blank_rows: int = 0,
               first_col: int = 1, sheet: str = "设备登记表", extra_sheets: dict[str, list[list[Any]]] | None = None,
               before: dict[str, list[list[Any]]] | None = None) -> Path:
    """An .xlsx laid out like the template: merged title row, 填报单位 row, optional blank rows, header, data.

    `before` adds sheets in front of the data sheet (e.g. 填表说明), `extra_sheets` after it.
    """
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, content in (before or {}).items():
        ws = wb.create_sheet(name)
        for r in content:
            ws.append(r)
    ws = wb.create_sheet(sheet)
    r = 1
    last_col = first_col + max(len(header), 1) - 1
    for text in (title, unit):
        if text is not None:
            ws.cell(r, first_col, text)
            ws.merge_cells(start_row=r, start_column=first_col, end_row=r, end_column=last_col)
            r += 1
    r += blank_rows
    for values in [header, *rows]:
        for j, value in enumerate(values):
            if value is not None:
                cell = ws.cell(r, first_col + j, str(value) if isinstance(value, Text) else value)
                if isinstance(value, Text):
                    cell.data_type = "s"
        r += 1
    for name, content in (extra_sheets or {}).items():
        extra = wb.create_sheet(name)
        for row in content:
            extra.append(row)
    wb.save(path)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[Any]], *, encoding: str = "utf-8",
              title_rows: list[str] = (), delimiter: str = ",") -> Path:
    lines = [*title_rows, delimiter.join(header)]
    lines += [delimiter.join("" if v is None else str(v) for v in row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def patch_sheet_xml(path: Path, change: Callable[[str], str], member: str = "xl/worksheets/sheet1.xml") -> Path:
    """Rewrite one sheet's XML inside an .xlsx (to add cached formula values, shared formulas, error cells)."""
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    parts[member] = change(parts[member].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def set_cell_xml(xml: str, ref: str, inner: str, cell_type: str | None = None) -> str:
    """Replace the <c r=ref> element of a sheet XML (which must exist) by one with the given inner XML."""
    pattern = re.compile(rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)', re.S)
    assert pattern.search(xml), ref
    attr = f' t="{cell_type}"' if cell_type else ""
    return pattern.sub(lambda m: f'<c r="{ref}"{attr}>{inner}</c>', xml, count=1)


@pytest.fixture
def form(tmp_path: Path) -> Callable[..., Path]:
    """form(header, rows, name='devices.xlsx', **write_form options) -> path of a new .xlsx in tmp_path."""
    def make(header: list[Any], rows: list[list[Any]], name: str = "upload.xlsx", **options: Any) -> Path:
        return write_form(tmp_path / name, header, rows, **options)

    return make


@pytest.fixture
def csv_file(tmp_path: Path) -> Callable[..., Path]:
    """csv_file(header, rows, name='upload.csv', encoding=..., title_rows=..., delimiter=...) -> path."""
    def make(header: list[str], rows: list[list[Any]], name: str = "upload.csv", **options: Any) -> Path:
        return write_csv(tmp_path / name, header, rows, **options)

    return make
