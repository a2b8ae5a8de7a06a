"""`edge config show|set`: the settings a site changes after `edge init`, validated.

`config.toml` documents itself, but a hand edit can leave the appliance unable
to start (a typo in a CIDR, a profile that does not exist, a hot folder on a
disk where plaintext must never rest). `set` checks the new value the way the
appliance will use it — the whole file is loaded again with it, profiles are
looked up, a hot folder must be a usable directory (on tmpfs where the scanner
profile requires it) — and only then rewrites the file atomically, on record.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from juanzong.edge import audit, repo
from juanzong.edge.config import SETTINGS, config_path, render_config, settings_from
from juanzong.shared import settings as shared_settings
from juanzong.shared.audit import Action
from juanzong.shared.durable import write_durable
from juanzong.shared.errors import AppError, ErrorCode

# what `edge init` sets and people change later; the rest are tuning values
SITE_SETTINGS = ("court", "name", "hot_folder", "scanner_profile", "printer_profile", "court_networks", "central_url", "max_declared_pages")
FIXED = {"appliance_id", "keys_dir", "data_dir"}
SITE_HELP = {  # what `edge config show` says about the settings a site changes (the rest keep config.toml's notes)
    "court": "法院名称，印在回执和封面页上",
    "name": "扫描点名称，印在回执上",
    "hot_folder": "热文件夹：扫描仪写入的目录（空 = 用扫描仪配置的）；生产环境应为 tmpfs 挂载点",
    "scanner_profile": "扫描仪配置名（juanzong profiles 可列出）",
    "printer_profile": "回执打印机配置名",
    "court_networks": "允许同步和网络打印连接的法院内网地址段（CIDR）",
    "central_url": "中心服务器地址，如 https://archive.court.internal:8470",
    "max_declared_pages": "收取登记时单件材料申报页数的上限，超过视为输错",
}  # moving these breaks the home: never through `set`


@dataclass(frozen=True)
class Shown:
    name: str
    value: Any
    help: str
    default: bool  # equal to the default


def show(home: Path) -> list[Shown]:
    values = shared_settings.read_values(home, SETTINGS, "edge")
    return [Shown(s.name, values[s.name], SITE_HELP.get(s.name, s.help), values[s.name] == s.default) for s in SETTINGS]


def set_value(home: Path, name: str, texts: list[str], actor: str = "admin") -> Any:
    """Validate and store one setting; returns the value stored."""
    known = {s.name: s for s in SETTINGS}
    if name not in known:
        raise AppError(ErrorCode.CONFIG_UNKNOWN, name=name, known="、".join(SITE_SETTINGS))
    if name in FIXED:
        raise AppError(ErrorCode.CONFIG_FIXED, name=name)
    values = shared_settings.read_values(home, SETTINGS, "edge")
    old = values[name]
    values[name] = _typed(name, known[name].default, texts)
    _check(home, name, values)
    write_durable(config_path(home), render_config(values).encode("utf-8"), 0o600)
    settings = settings_from(home, values)
    db = repo.connect(settings)
    try:
        audit.record(
            db,
            place=settings.appliance_id,
            actor=actor,
            action=Action.CONFIG_SET,
            target=name,
            old=_jsonable(old),
            new=_jsonable(values[name]),
        )
    finally:
        db.close()
    return values[name]


def _typed(name: str, default: Any, texts: list[str]) -> Any:
    if isinstance(default, list):
        return [t.strip() for text in texts for t in text.split(",") if t.strip()]
    if len(texts) != 1:
        raise AppError(ErrorCode.CONFIG_VALUE_INVALID, name=name, detail="只能有一个值")
    text = texts[0].strip()
    try:
        if isinstance(default, bool):
            if text.lower() not in ("true", "false", "是", "否", "1", "0"):
                raise ValueError(text)
            return text.lower() in ("true", "是", "1")
        if isinstance(default, (int, float)):
            number = type(default)(text)
            if not math.isfinite(number) or number < 0:  # nan, inf, a negative time or count
                raise ValueError(text)
            return number
    except (ValueError, OverflowError) as exc:
        kind = {bool: "true 或 false", int: "不小于 0 的整数", float: "不小于 0 的数字"}[type(default)]
        raise AppError(ErrorCode.CONFIG_VALUE_INVALID, name=name, detail=f"“{text[:40]}”不是{kind}") from exc
    return text


def _check(home: Path, name: str, values: dict[str, Any]) -> None:
    """The new value as the appliance will use it: anything it would refuse, refused now."""
    from juanzong.edge.devices.profiles import get_printer, get_scanner

    settings = settings_from(home, values)  # court_networks (CIDR, not too wide), kiosk_listen …
    scanner = get_scanner(settings.scanner_profile)
    get_printer(settings.printer_profile)
    if name == "court" and not str(values["court"]).strip():
        raise AppError(ErrorCode.CONFIG_VALUE_INVALID, name=name, detail="法院名称不能为空（印在回执和封面页上）")
    if name in PRINTED:
        check_printed(name, str(values[name]))
    if name == "max_declared_pages" and not 1 <= values[name] <= 100_000:
        raise AppError(ErrorCode.CONFIG_VALUE_INVALID, name=name, detail="应在 1 到 100000 之间")
    if name == "central_url" and values[name] and not str(values[name]).startswith(("https://", "http://")):
        raise AppError(ErrorCode.CONFIG_VALUE_INVALID, name=name, detail="应以 https:// 开头")
    if name in ("hot_folder", "scanner_profile"):
        check_hot_folder(settings.hot_folder, scanner.tmpfs_required)


PRINTED = ("court", "name")  # printed on receipts and cover sheets
PRINTED_MAX = 50


def check_printed(name: str, text: str) -> None:
    """A name printed on receipts and cover sheets: one line (no control or direction
    characters), at most 50 characters — a longer one would not fit the sheet."""
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise AppError(ErrorCode.CONFIG_VALUE_INVALID, name=name, detail="只能是一行文字，不能含换行、控制或方向字符（印在回执和封面页上）")
    if len(text.strip()) > PRINTED_MAX:
        raise AppError(ErrorCode.CONFIG_VALUE_INVALID, name=name, detail=f"不能超过 {PRINTED_MAX} 个字（印在回执和封面页上）")


def check_hot_folder(path: Path, tmpfs_required: bool) -> None:
    """A directory the appliance can use now; on RAM (tmpfs/ramfs) where the profile requires it."""
    from juanzong.edge.hostcheck import require_ram_hot_folder

    if path.exists() and not path.is_dir():
        raise AppError(ErrorCode.CONFIG_VALUE_INVALID, name="hot_folder", detail=f"{path} 不是目录")
    path.mkdir(parents=True, exist_ok=True)
    require_ram_hot_folder(path, tmpfs_required)


def _jsonable(value: Any) -> Any:
    """A value for the audit record (canonical JSON carries no floats: a number of seconds is text)."""
    if isinstance(value, float):
        return repr(value)
    return value if isinstance(value, (str, int, bool, type(None))) else list(value)
