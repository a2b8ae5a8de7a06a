"""Keeping `69-juanzong-registered-media.rules` in step with the appliance's registered media.

`edge lockdown --apply --root R` installs the rules under R and records R. Afterwards the
rules are rendered again from the media table by `edge media init` (a new medium, and the
preparation window closed) and by `edge media rules`, which `juanzong-media-rules.timer`
runs hourly as root so a registration that expires drops out of the rules within the hour
(`edge media export` refuses an expired registration at once in any case). The text holds
nothing time-dependent: a render that changes nothing writes nothing. On the live root the
changed rules are loaded with `udevadm control --reload-rules`; under another root (a staging
tree, the tests) nothing is run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.lockdown.udev import MEDIA_RULES_TARGET, PREPARE_FLAG, media_rules_text
from juanzong.edge.repo import state, write_tx
from juanzong.edge.repo.state import StateKey
from juanzong.shared.audit import Action
from juanzong.shared.durable import write_durable
from juanzong.shared.errors import AppError, ErrorCode


@dataclass(frozen=True)
class RulesRefresh:
    root: Path | None  # None: no OS profile installed on this appliance, nothing to keep in step
    media: tuple[str, ...]  # the medium ids the rules admit
    written: bool
    reloaded: bool
    window_closed: bool

    @property
    def path(self) -> Path | None:
        return None if self.root is None else self.root / MEDIA_RULES_TARGET.lstrip("/")

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": None if self.root is None else str(self.root),
            "path": None if self.path is None else str(self.path),
            "media": list(self.media),
            "written": self.written,
            "reloaded": self.reloaded,
            "window_closed": self.window_closed,
        }


def record_root(db: Database, root: Path) -> None:
    with write_tx(db):
        state.put(db, StateKey.LOCKDOWN_ROOT, str(root.resolve()))


def installed_root(db: Database) -> Path | None:
    value = state.get(db, StateKey.LOCKDOWN_ROOT)
    return Path(value) if value else None


def refresh(
    db: Database, appliance_id: str, now: datetime, *, actor: str, root: Path | None = None, close_window: bool = False
) -> RulesRefresh:
    """Render the rules for the media valid at `now`; write and reload them where they changed."""
    from juanzong.edge.media import admitted_media

    media = admitted_media(db, now)
    target_root = root if root is not None else installed_root(db)
    ids = tuple(sorted(m.medium_id for m in media))
    if target_root is None:
        return RulesRefresh(None, ids, False, False, False)
    written = _write_if_changed(target_root / MEDIA_RULES_TARGET.lstrip("/"), media_rules_text(appliance_id, media))
    live = target_root.resolve() == Path("/")
    reloaded = written and live and _reload()
    closed = close_window and _close_window(target_root)
    if written or closed:
        audit.record(
            db,
            place=appliance_id,
            actor=actor,
            action=Action.MEDIA_RULES,
            target=str(target_root),
            media=list(ids),
            written=written,
            reloaded=reloaded,
            window_closed=closed,
        )
    return RulesRefresh(target_root, ids, written, reloaded, closed)


def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.exists() and path.read_text("utf-8") == text:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        write_durable(path, text.encode("utf-8"), 0o644)  # the shared durable write: old rules or new, never half
        os.chmod(path, 0o644)  # whatever the umask
        return True
    except OSError as exc:
        raise AppError(ErrorCode.MEDIA_RULES_FAILED, detail=f"写入 {path} 失败：{exc.strerror}") from exc


def _reload() -> bool:
    tool = shutil.which("udevadm")
    if tool is None:
        raise AppError(ErrorCode.MEDIA_RULES_FAILED, detail="找不到 udevadm")
    proc = subprocess.run([tool, "control", "--reload-rules"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AppError(ErrorCode.MEDIA_RULES_FAILED, detail=f"udevadm control --reload-rules：{proc.stderr.strip()[-300:]}")
    return True


def _close_window(root: Path) -> bool:
    flag = root / PREPARE_FLAG.lstrip("/")
    try:
        flag.unlink()
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise AppError(ErrorCode.MEDIA_RULES_FAILED, detail=f"无法关闭介质准备窗口 {flag}：{exc.strerror}") from exc
