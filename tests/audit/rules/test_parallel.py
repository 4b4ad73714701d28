"""The chunks' rules in worker processes (audit.rules.parallel): exactly the findings, problems and progress of the
rules run in this process, on both databases; an error in a rule, or a worker that dies, fails the audit with the
session usable and nothing stored; a bad number of workers is refused in Chinese."""
from __future__ import annotations

import datetime as dt
import os
import signal

import pandas as pd
import pytest
from click.testing import CliRunner

from audit.casework.problems import audit_and_record
from audit.cli import main
from audit.registry.db import session_factory
from audit.registry.models import AuditRun, Finding, Problem
from audit.rules import base, parallel
from audit.rules.base import Rule
from audit.rules.engine import audit_findings, load_inputs
from audit.rules.parallel import WORKERS_ENV, AuditWorkerError, ChunkWorkers, audit_workers
from audit.rules.profiles import load_profile

from .test_chunks import AS_OF, DEPARTMENTS, at_once, generated

LAST = sorted(DEPARTMENTS)[-1]  # in the last chunk of 30 devices


class StopsInLastChunk(Rule):
    """Raises on the chunk holding LAST's devices (run in a worker: the error comes back pickled)."""

    code, title_zh, title_en, basis, severity, action = "TST01", "测试", "test", "-", "一般", "核查"

    def check(self, devices, ctx):
        if (devices["department"] == LAST).any():
            raise RuntimeError(f"stopped in {LAST}")
        return []


class DiesInLastChunk(StopsInLastChunk):
    """Kills its own worker process on that chunk, as the kernel's out-of-memory killer would."""

    code = "TST02"

    def check(self, devices, ctx):
        if (devices["department"] == LAST).any():
            os.kill(os.getpid(), signal.SIGKILL)
        return []


def inputs(session):
    return load_inputs(session, as_of=AS_OF, profile=load_profile("national"), daily_rows=False)


def test_workers_find_what_the_rules_in_this_process_find(db_engine, tmp_path, monkeypatch):
    sent = []
    monkeypatch.setattr(ChunkWorkers, "submit", lambda self, key, part, rows, submit=ChunkWorkers.submit:
                        sent.append((self.workers, key)) or submit(self, key, part, rows))
    with session_factory(db_engine)() as session:
        generated(session, tmp_path)
        whole = at_once(session, AS_OF)
        devices, ctx = inputs(session)
        for chunk in (1, 30, 50):  # 5, 4 and 3 chunks: more chunks than workers, and fewer
            for workers in (2, 3):
                sent.clear()
                calls: list[tuple[str, int, int]] = []
                found = audit_findings(session, devices, ctx, chunk_devices=chunk, workers=workers,
                                       progress=lambda *call: calls.append(call))
                pd.testing.assert_frame_equal(found, whole)
                assert sent == [(workers, at) for at in range(len(sent))] and len(sent) >= 3
                steps = calls[0][2]
                assert [c[1] for c in calls] == list(range(steps)) and {c[2] for c in calls} == {steps}
                alone: list[tuple[str, int, int]] = []
                sent.clear()
                audit_findings(session, devices, ctx, chunk_devices=chunk, workers=1,
                               progress=lambda *call: alone.append(call))
                assert sorted(calls) == sorted(alone) and sent == []
        chosen = ["VIO01", "PLC01", "CAL04"]
        pd.testing.assert_frame_equal(audit_findings(session, devices, ctx, rules=chosen, chunk_devices=20,
                                                     workers=2), at_once(session, AS_OF, rules=chosen))


def _outcome(session):
    problems = pd.read_sql(session.query(Problem.identity, Problem.last_check, Problem.resolved_reason,
                                         Problem.material).order_by(Problem.identity).statement, session.connection())
    findings = pd.read_sql(session.query(Finding.rule, Finding.device_code, Finding.message, Finding.evidence)
                           .order_by(Finding.id).statement, session.connection())
    return problems, findings


def test_audit_and_record_with_workers_files_the_same_problems(db_engine, tmp_path):
    """Two audits a month apart (the second one rechecking suspended devices) with workers, then again with the
    rules in this process from the same start: the same findings and problems, row for row."""
    with session_factory(db_engine)() as session:
        generated(session, tmp_path)
        outcomes = []
        for workers in (2, 1):
            for as_of in (dt.date(2025, 3, 31), AS_OF):
                audit_and_record(session, as_of=as_of, chunk_devices=30, workers=workers)
            outcomes.append(_outcome(session))
            session.rollback()
        for got, want in zip(*outcomes):
            pd.testing.assert_frame_equal(got, want)
        assert outcomes[0][1]["message"].str.contains("停用").any()  # the recheck of suspended devices ran


@pytest.mark.parametrize("rule", [StopsInLastChunk, DiesInLastChunk])
def test_a_failing_worker_fails_the_audit_and_leaves_the_session_usable(db_engine, tmp_path, rule, monkeypatch):
    with session_factory(db_engine)() as session:
        generated(session, tmp_path)
        monkeypatch.setitem(base._REGISTRY, rule.code, rule)  # every rule runs, this one too (pickled by name)
        expected = (RuntimeError, f"stopped in {LAST}") if rule is StopsInLastChunk else (AuditWorkerError, "意外退出")
        with pytest.raises(expected[0], match=expected[1]):
            audit_and_record(session, as_of=AS_OF, chunk_devices=30, workers=2)
        session.rollback()
        assert session.query(AuditRun).count() == session.query(Problem).count() == 0
        monkeypatch.delitem(base._REGISTRY, rule.code)
        devices, ctx = inputs(session)
        pd.testing.assert_frame_equal(audit_findings(session, devices, ctx, chunk_devices=30, workers=2),
                                      at_once(session, AS_OF))


def test_workers_that_cannot_start_fail_the_audit_with_what_to_do(db_engine, tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise OSError(38, "Function not implemented")  # e.g. no /dev/shm for the pool's semaphores

    with session_factory(db_engine)() as session:
        generated(session, tmp_path)
        monkeypatch.setattr(parallel, "ProcessPoolExecutor", refused)
        with pytest.raises(AuditWorkerError, match=f"不能启动审查的计算进程.*请设置 {WORKERS_ENV}=1"):
            audit_and_record(session, as_of=AS_OF, chunk_devices=30, workers=2)
        session.rollback()
        assert session.query(AuditRun).count() == 0
        run, findings, _ = audit_and_record(session, as_of=AS_OF, chunk_devices=30, workers=1)  # no pool at all
        assert len(findings) and run.finding_count == len(findings)


def test_the_number_of_workers(monkeypatch):
    assert parallel.cores() == len(os.sched_getaffinity(0))
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    assert audit_workers() == 1
    monkeypatch.setattr(parallel, "cores", lambda: 16)
    assert audit_workers() == 2 and audit_workers(5) == 5
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert audit_workers() == 3 and audit_workers(1) == 1
    for bad in ("0", "65", "两个", "2.5"):
        monkeypatch.setenv(WORKERS_ENV, bad)
        with pytest.raises(ValueError, match=f"审查的并行进程数“{bad}”无效：应为 1 至 64 之间的整数"):
            audit_workers()
    with pytest.raises(ValueError, match="“0”无效"):
        audit_workers(0)


def test_the_cli_refuses_a_bad_number_of_workers(monkeypatch, tmp_path):
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'a.sqlite3'}")
    monkeypatch.setenv(WORKERS_ENV, "many")
    result = CliRunner().invoke(main, ["audit", "--as-of", "2025-04-30"])
    assert result.exit_code == 2 and "审查的并行进程数“many”无效" in result.output
    monkeypatch.delenv(WORKERS_ENV)
    result = CliRunner().invoke(main, ["audit", "--as-of", "2025-04-30", "--workers", "0"])
    assert result.exit_code == 2 and "--workers" in result.output


class WaitsInWorker(StopsInLastChunk):
    """Writes its worker's pid, then sleeps far longer than the test waits."""

    code = "TST03"

    def check(self, devices, ctx):
        import time
        from pathlib import Path

        Path(os.environ["PIDS_FOLDER"], str(os.getpid())).touch()
        time.sleep(600)
        return []


KILLED_AUDIT = """
import sys
from pathlib import Path
from audit.registry.db import init_db, make_engine, session_factory
from audit.rules.engine import audit_findings, load_inputs
from audit.rules.profiles import load_profile
from tests.audit.rules.test_chunks import AS_OF, generated
from tests.audit.rules.test_parallel import WaitsInWorker

if __name__ == "__main__":
    folder = Path(sys.argv[1])
    engine = make_engine(f"sqlite:///{folder / 'a.sqlite3'}")
    init_db(engine)
    with session_factory(engine)() as session:
        generated(session, folder)
        devices, ctx = load_inputs(session, as_of=AS_OF, profile=load_profile("national"), daily_rows=False)
        audit_findings(session, devices, ctx, rules=[WaitsInWorker()], chunk_devices=30, workers=2)
"""


def test_workers_exit_when_the_audit_process_is_killed(tmp_path):
    """SIGKILL of the audit's process (as the out-of-memory killer sends) leaves no worker running."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    pids = tmp_path / "pids"
    pids.mkdir()
    script = tmp_path / "killed_audit.py"
    script.write_text(KILLED_AUDIT)
    root = Path(__file__).resolve().parents[3]
    audit = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=root,
                             env=os.environ | {"PIDS_FOLDER": str(pids), "PYTHONPATH": str(root)})
    try:
        deadline = time.monotonic() + 120
        while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline and audit.poll() is None:
            time.sleep(0.2)
        workers = [int(p.name) for p in pids.iterdir()]
        assert len(workers) == 2, "both workers should be running the rule"
    finally:
        audit.kill()
        audit.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # not to leave them to the rest of the run
        os.kill(pid, signal.SIGKILL)
    assert not left


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone, or exiting while its stat was read
        return False
