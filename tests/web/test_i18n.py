"""Every message of the app has an English entry: the catalogue cannot drift from the templates and code."""
from __future__ import annotations

import re
from pathlib import Path

from audit.casework.attachments import PURPOSES
from audit.casework.spotcheck import RESULTS
from audit.registry import history
from audit.registry.models import DECISION_ZH, DEVICE_REMOVED, LEDGER_STATUSES, RESPONSE_KINDS, REVIEW_ZH
from audit.intake.columns import DEVICE_COLUMNS, STATUSES, VERIFICATION_RESULTS
from audit.registry.users import ROLE_ZH
from audit.rules.base import ACTIONS, SEVERITIES
from web.findings import GROUPS
from web.i18n import catalogue

WEB = Path(__file__).resolve().parents[2] / "web"
CALL = re.compile(r"""(?<![\w.])(?:_|gettext|labels)\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def messages() -> set[str]:
    found = set()
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        for match in CALL.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    return found


def test_every_message_in_templates_and_code_is_translated():
    found = messages()
    assert len(found) > 150
    assert sorted(found - set(catalogue())) == []


def test_every_domain_term_shown_is_translated():
    terms = {*STATUSES, *SEVERITIES, *ACTIONS, *LEDGER_STATUSES, DEVICE_REMOVED, *DECISION_ZH.values(), *GROUPS.values(),
             *ROLE_ZH.values(), *VERIFICATION_RESULTS, "是", "否", "自查", "整改", "总结",
             *(c.header for c in DEVICE_COLUMNS), "原始经度", "原始纬度",
             # evidence files, answers to problems and their thread (audit.casework.responses.thread), spot checks
             *PURPOSES, *RESPONSE_KINDS, *REVIEW_ZH.values(), "采纳", "不予采纳", *RESULTS,
             # the change log's words (audit.registry.history), shown through term()
             *history.OPERATIONS.values(), history.OTHER_OPERATION, *history.DECISION_LABELS.values(),
             *(label for labels in history.LABELS.values() for label in labels.values()),
             *(history.operation_name(entity, kind) for kind in DECISION_ZH for entity in ("decision", "device"))}
    assert sorted(terms - set(catalogue())) == []


def test_placeholders_match():
    for zh, en in catalogue().items():
        assert set(re.findall(r"\{(\w+)", zh)) == set(re.findall(r"\{(\w+)", en)), zh
