"""Exports and backups started from the office pages run in a background thread, one at a time.

A button starts a task and the browser is sent to the task's page, which shows
its state and a progress bar and reloads itself every few seconds while it runs
(`<meta http-equiv="refresh">`, no JavaScript). The tasks live in the office
process (it is one process: `central/office/serve.py`); what they did is in the
audit trail, which the exports page lists after a restart as well. One task at a
time: an export decrypts and a backup reads the whole store, and central shares
its cores with the sync listener. A task cut off by a shutdown leaves a partial
folder and no audit row saying it finished.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from juanzong.shared.audit import Action, Outcome
from juanzong.shared.errors import AppError, ErrorCode

log = logging.getLogger("juanzong.central.office")
Progress = Callable[[int, int, str], None]
Work = Callable[[Progress], dict[str, Any]]


class TaskState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {"running": "进行中", "done": "已完成", "failed": "失败"}[self.value]


@dataclass
class Task:
    task_id: str
    kind: str  # "export" | "backup"
    title: str  # what a person reads: 导出：案件系统卷宗
    actor: str
    started_at: datetime
    out: str
    state: TaskState = TaskState.RUNNING
    done: int = 0
    total: int = 0
    stage: str = "准备中"
    finished_at: datetime | None = None
    result: dict[str, Any] = field(default_factory=dict)
    verified: bool | None = None  # a backup: every copy read back and verified
    error: AppError | None = None

    def progress(self, done: int, total: int, stage: str) -> None:
        self.done, self.total, self.stage = done, total, stage

    @property
    def percent(self) -> int:
        if self.state is TaskState.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class Tasks:
    """The office's background tasks: start one, look one up, list the recent ones."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._threads: dict[str, threading.Thread] = {}

    def start(self, kind: str, title: str, actor: str, out: str, work: Work) -> Task:
        with self._lock:
            busy = next((t for t in self._tasks.values() if t.state is TaskState.RUNNING), None)
            if busy is not None:
                raise AppError(ErrorCode.OFFICE_JOB_BUSY, title=busy.title)
            task = Task(secrets.token_hex(8), kind, title, actor, self._clock(), out)
            thread = threading.Thread(target=self._run, args=(task, work), name=f"office-task-{task.task_id}", daemon=True)
            self._tasks[task.task_id], self._threads[task.task_id] = task, thread
        thread.start()
        return task

    def _run(self, task: Task, work: Work) -> None:
        try:
            task.result = work(task.progress)
            task.verified = task.result.get("ok") if task.kind in ("backup", "verify") else None
            task.state = TaskState.DONE
        except AppError as err:
            task.error, task.state = err, TaskState.FAILED
        except Exception:  # a task never takes the office down; the log has the traceback, the page the code
            log.exception("office task %s (%s) failed", task.task_id, task.title)
            task.error, task.state = AppError(ErrorCode.OFFICE_INTERNAL), TaskState.FAILED
        finally:
            task.finished_at = self._clock()

    def get(self, task_id: str) -> Task:
        task = self._tasks.get(task_id)
        if task is None:
            raise AppError(ErrorCode.OFFICE_JOB_NOT_FOUND, job_id=task_id[:20])
        return task

    def recent(self, limit: int = 10) -> list[Task]:
        return sorted(self._tasks.values(), key=lambda t: t.started_at, reverse=True)[:limit]

    def wait(self, task_id: str, timeout: float | None = None) -> Task:
        """Until the task has finished (tests, and a clean shutdown)."""
        self._threads[task_id].join(timeout)
        return self.get(task_id)


# --- what the audit trail says was done (also after a restart) ----------------------------------

EXPORT_LABELS = {
    "dossier": "案件系统卷宗",
    "sql": "SQL Server 索引",
    "excel": "Excel 卷内目录",
    "zip": "每件材料一个 ZIP",
    "sql-load": "装载到 SQL Server",
}


@dataclass(frozen=True)
class Run:
    at: str
    actor: str
    what: str
    where: str
    ok: bool
    state: str  # what a person reads: 2 份全部回读校验通过 / 回读校验未通过 / 已拒绝（代码）
    seq: int = 0  # the audit row (a backup's copies are verified again by it)
    verifiable: bool = False  # copies were written: they can be read back again


@dataclass(frozen=True)
class Runs:
    backups: list[Run]
    exports: list[Run]


def last_runs(records: Any, limit: int = 10) -> Runs:
    """The last backups with their read-back verification state, and the last exports (newest first)."""
    backups: list[Run] = []
    exports: list[Run] = []
    for rec, _ in records:
        if rec.action == Action.BACKUP and rec.detail.get("check") == "verify":
            backups = [_reverified(run, rec) if run.seq == rec.detail.get("of") else run for run in backups]
        elif rec.action == Action.BACKUP:
            backups.append(_backup_run(rec))
        elif rec.action == Action.EXPORT and "format" in rec.detail:  # one row per export, not per item read
            label = EXPORT_LABELS.get(rec.detail["format"], rec.detail["format"])
            state = "完成" if rec.outcome == Outcome.OK else f"失败（{rec.detail.get('code', '')}）"
            exports.append(Run(rec.at, rec.actor, label, rec.target, rec.outcome == Outcome.OK, state))
    return Runs(backups[::-1][:limit], exports[::-1][:limit])


def _backup_run(rec: Any) -> Run:
    copies = rec.detail.get("copies")
    if rec.outcome == Outcome.REFUSED:
        return Run(rec.at, rec.actor, f"{copies} 份", rec.target, False, f"已拒绝（{rec.detail.get('code', '')}）", rec.seq)
    count = len(copies) if isinstance(copies, list) else copies
    state = f"{count} 份全部回读校验通过" if rec.outcome == Outcome.OK else f"{count} 份中有回读校验未通过的副本"
    return Run(rec.at, rec.actor, f"{count} 份", rec.target, rec.outcome == Outcome.OK, state, rec.seq, isinstance(copies, list))


def _reverified(run: Run, check: Any) -> Run:
    """The backup with the newest reading-back of its copies."""
    from juanzong.central.office.formatting import zh_datetime

    failed = len(check.detail.get("failed", []))
    result = "全部通过" if check.outcome == Outcome.OK else f"{failed} 份未通过"
    state = f"{zh_datetime(check.at)} {check.actor} 重新校验：{result}"
    return Run(run.at, run.actor, run.what, run.where, check.outcome == Outcome.OK, state, run.seq, run.verifiable)


def backup_copies(records: Any, seq: int) -> list[str]:
    """The copies a recorded backup wrote (only a backup that wrote copies; never a path from a form)."""
    for rec, _ in records:
        if rec.seq == seq and rec.action == Action.BACKUP and rec.outcome != Outcome.REFUSED and not rec.detail.get("check"):
            copies = rec.detail.get("copies")
            if isinstance(copies, list) and copies:
                return [str(c) for c in copies]
    raise AppError(ErrorCode.OFFICE_JOB_NOT_FOUND, job_id=f"备份 #{seq}")
