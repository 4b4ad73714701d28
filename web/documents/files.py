"""Write one audit.exports document into a temporary folder and send it as a download with a UTF-8 name."""
from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path
from urllib.parse import quote

from flask import Response
from sqlalchemy.orm import Session

from audit.exports import KINDS, export

MIMETYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".geojson": "application/geo+json",
    ".csv": "text/csv; charset=utf-8",
}
ALL_DEPARTMENTS = "全部单位"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def download_name(kind: str, suffix: str, department: str | None, day: dt.date) -> str:
    """e.g. 突出问题清单_将乐县交通运输局_2025-06-30.xlsx (characters Windows refuses in names become _)."""
    parts = (KINDS[kind][0], department or ALL_DEPARTMENTS, day.isoformat())
    return "_".join(_UNSAFE.sub("_", p) for p in parts) + suffix


def send_export(session: Session, kind: str, suffix: str, *, department: str | None = None,
                as_of: dt.date | None = None, run_id: int | None = None, case_finding_id: int | None = None,
                issuer: str | None = None) -> Response:
    """The document as an attachment; ExportError (and DecisionError) from audit.exports pass to the caller."""
    with tempfile.TemporaryDirectory(prefix="camaudit-export-") as folder:
        path = export(session, kind, Path(folder) / f"document{suffix}", department=department, as_of=as_of,
                      run_id=run_id, case_finding_id=case_finding_id, issuer=issuer)
        data = path.read_bytes()  # read before the folder goes (Windows cannot delete an open file)
    day = as_of or dt.date.today()
    response = Response(data, mimetype=MIMETYPES[suffix])
    # RFC 6266/5987: the UTF-8 name for browsers, an ASCII one (kind and date) for the few that ignore filename*.
    response.headers.set("Content-Disposition", "attachment", filename=f"{kind}_{day.isoformat()}{suffix}",
                         **{"filename*": "UTF-8''" + quote(download_name(kind, suffix, department, day),
                                                           safe="!#$&+-.^_`|~")})
    return response
