"""One entry point per export, for the command line and the archive-office pages alike.

Each job loads the dossiers in scope, refuses a destination that is not an
empty folder of the archive office's choosing (readable content is never
written where it was not asked for, nor over earlier files), runs the format
and records one audit row with who, what, where and the hashes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from juanzong.central import audit
from juanzong.central.config import SqlServerSettings
from juanzong.central.export.dossier import export_tree
from juanzong.central.export.excel import export_excel
from juanzong.central.export.model import load_dossiers
from juanzong.central.export.sql import export_sql
from juanzong.central.export.sqlload import load_script, require_server
from juanzong.central.export.zips import export_zips
from juanzong.central.home import Central
from juanzong.shared.audit import Action, Outcome
from juanzong.shared.crypto import sha256_hex
from juanzong.shared.errors import AppError, ErrorCode

FORMATS = ("dossier", "sql", "excel", "zip")
Progress = Callable[[int, int, str], None]  # done, total, what is being done (Chinese): the office's progress bar


def quiet(_done: int, _total: int, _stage: str) -> None:
    """No progress wanted (the command line)."""


class ItemTicker:
    """Counts items as a format finishes them and reports each to `progress`."""

    def __init__(self, total: int, progress: Progress) -> None:
        self.total, self.done, self.progress = total, 0, progress
        progress(0, total, "正在读取卷宗")

    def __call__(self, label: str) -> None:
        self.done += 1
        self.progress(self.done, self.total, f"已处理 {self.done}/{self.total} 件材料：{label}")


@dataclass(frozen=True)
class Scope:
    case: str | None = None
    since: str | None = None


def run_export(
    central: Central,
    fmt: str,
    out: Path,
    scope: Scope,
    *,
    actor: str,
    now: datetime,
    ascii_names: bool = False,
    xml: bool = False,
    utf16: bool = False,
    bcp: bool = False,
    load: bool = False,
    progress: Progress = quiet,
) -> dict[str, Any]:
    server = require_server(central.settings.sqlserver) if load and fmt == "sql" else None  # before anything is written
    dossiers = load_dossiers(central.repo, case=scope.case, since=scope.since)
    out = out.resolve()
    tick = ItemTicker(sum(len(d.items()) for d in dossiers), progress)
    if fmt == "excel":
        _require_new_file(out)
        result = export_excel(dossiers, out).to_dict()
        tick.progress(tick.total, tick.total, "Excel 目录已写入")
    else:
        _require_empty_dir(out)
        if fmt == "dossier":
            result = export_tree(central, dossiers, out, ascii_names=ascii_names, xml=xml, actor=actor, tick=tick).to_dict()
        elif fmt == "sql":
            result = export_sql(central, dossiers, out, utf16=utf16, bcp=bcp, exported_at=now.isoformat(), actor=actor, tick=tick).to_dict()
        elif fmt == "zip":
            result = export_zips(central, dossiers, out, actor=actor, tick=tick).to_dict()
        else:
            raise AppError(ErrorCode.EXPORT_FAILED, detail=f"未知的导出格式 {fmt}")
    audit.record(
        central.repo.engine,
        actor=actor,
        action=Action.EXPORT,
        target=str(out),
        format=fmt,
        case=scope.case or "",
        since=scope.since or "",
        cases=len(dossiers),
        summary=_summary(result),
    )
    if server is not None:
        progress(tick.total, tick.total, f"正在装载到 SQL Server {server.label}")
        result["loaded"] = _load(central, server, out / "index.sql", actor=actor)
    return result


def _load(central: Central, server: SqlServerSettings, script: Path, *, actor: str) -> dict[str, Any]:
    """The exported script into the configured SQL Server; the attempt is audited either way."""
    raw = script.read_bytes()
    text = raw.decode("utf-16") if raw.startswith(b"\xff\xfe") else raw.decode("utf-8")
    try:
        loaded = load_script(server, text).to_dict()
    except AppError as err:
        audit.record(
            central.repo.engine,
            actor=actor,
            action=Action.EXPORT,
            target=server.label,
            format="sql-load",
            outcome=Outcome.FAILED,
            code=str(err.code),
            script=str(script),
        )
        raise
    audit.record(
        central.repo.engine,
        actor=actor,
        action=Action.EXPORT,
        target=server.label,
        format="sql-load",
        script=str(script),
        script_sha256=sha256_hex(raw),
    )
    return loaded


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if isinstance(v, (str, int)) or k in ("rows", "assembled", "unscanned")}


def _require_empty_dir(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AppError(ErrorCode.EXPORT_TARGET_INVALID, path=str(out), detail="须为不存在或空的文件夹，不覆盖已有文件")
    try:
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise AppError(ErrorCode.EXPORT_TARGET_INVALID, path=str(out), detail=f"无法创建（{exc.strerror}）") from exc


def _require_new_file(out: Path) -> None:
    if out.exists():
        raise AppError(ErrorCode.EXPORT_TARGET_INVALID, path=str(out), detail="文件已存在，不覆盖")
    if out.suffix.lower() != ".xlsx":
        raise AppError(ErrorCode.EXPORT_TARGET_INVALID, path=str(out), detail="Excel 目录须以 .xlsx 结尾")
