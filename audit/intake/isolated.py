"""parse_upload in a child process with a memory limit and a time limit, for servers: whatever a file does to the
reader, the calling process stays up and gets a report.

The child is forked from a server process that has imported the reader once (audit.forkserver), so a parse costs
no import; its address space is capped (RLIMIT_AS, where the platform has it) and it is killed after `timeout`
seconds. The parsed upload comes back pickled through a pipe.
"""
from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from ..forkserver import mp_context
from .limits import ReadLimits
from .report import ValidationReport
from .upload import ParsedUpload, parse_upload

def _child(conn: Any, path: str, kind: str, options: dict[str, Any], memory_mb: int) -> None:
    if memory_mb:
        try:
            import resource

            limit = memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ImportError, ValueError, OSError):
            pass
    try:
        conn.send(("ok", parse_upload(Path(path), kind, **options)))
    except MemoryError:
        conn.send(("memory", ""))
    except Exception as exc:  # the parent turns it into a report entry
        conn.send(("error", f"{type(exc).__name__}: {traceback.format_exc(limit=-1).strip().splitlines()[-1]}"))
    finally:
        conn.close()


def parse_isolated(path: Path, kind: str, *, default_crs: str | None = None, boundary: Any = None,
                   limits: ReadLimits | None = None, memory_mb: int = 0, timeout: float = 600,
                   spool_dir: Path | None = None) -> ParsedUpload:
    """parse_upload(path, kind, …) run in a child process; a child that runs out of memory or time, crashes or
    raises gives a ParsedUpload whose report says so (code PARSE_FAILED). A large CSV's rows come back as a spool
    file in `spool_dir` (the caller discards it), not through the pipe."""
    ctx = mp_context()
    receiver, sender = ctx.Pipe(duplex=False)
    options = {"default_crs": default_crs, "boundary": boundary, "limits": limits, "spool_dir": spool_dir}
    child = ctx.Process(target=_child, args=(sender, str(path), kind, options, memory_mb), daemon=True)
    child.start()
    sender.close()
    outcome: tuple[str, Any] = ("timeout", "")
    try:
        if receiver.poll(timeout):
            outcome = receiver.recv()
    except (EOFError, OSError):
        outcome = ("crash", "")
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    status, value = outcome
    if status == "ok":
        return value
    report = ValidationReport(filename=Path(path).name, kind=kind)
    what = {
        "timeout": f"读取和校验超过了 {timeout:g} 秒仍未完成，已停止",
        "memory": f"读取时所需内存超过上限（{memory_mb} MB），已停止",
        "crash": f"读取时出错，读取进程意外退出（退出码 {child.exitcode}；多为所需内存超过上限 {memory_mb} MB）",
        "error": f"读取时出错（{value}）",
    }[status]
    report.error("PARSE_FAILED", f"{what}；数据库未作任何改动。请删去无关的工作表、空白行和列，或拆分为几个文件分别上传；"
                                 "如文件本身无误，请联系管理员。")
    return ParsedUpload(report)
