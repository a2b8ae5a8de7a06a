"""Settings files both sides use: a table of settings, read once, written self-documenting.

Each side declares its settings as a tuple of `Setting(name, default, help)`;
`read_values` reads `<home>/config.toml` against that table (unknown keys and
wrong types are refused, so a typo never silently falls back to a default),
and `render_config` writes the file `init` creates with every setting's help
above it. Each side then builds its own frozen settings object from the values.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from juanzong.shared.errors import AppError, ErrorCode


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


def resolve_home(value: str | None, env: str, what: str) -> Path:
    home = value or os.environ.get(env)
    if not home:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"请用 --home 指定{what}，或设置 {env}")
    return Path(home).expanduser().resolve()


def read_values(home: Path, table: tuple[Setting, ...], side: str) -> dict[str, Any]:
    """The settings in `<home>/config.toml`, defaults filled in, types checked."""
    path = home / "config.toml"
    if not path.exists():
        raise AppError(ErrorCode.HOME_NOT_INITIALISED, home=str(home), side=side)
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"{path}: {exc}") from exc
    known = {s.name: s for s in table}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"未知的配置项 {', '.join(unknown)}")
    values = {name: raw.get(name, s.default) for name, s in known.items()}
    for name, s in known.items():
        if not _type_ok(values[name], s.default):
            raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"{name} 的类型应为 {type(s.default).__name__}")
    return values


def _type_ok(value: Any, default: Any) -> bool:
    # bool is an int subclass: a `port = true` typo must not pass as 1; a whole
    # number where a float is expected (`batch_idle_seconds = 10`) is fine
    if isinstance(default, float) and type(value) is int:
        return True
    return type(value) is type(default)


def under(home: Path, value: str) -> Path:
    """A path from the settings file: relative to the home unless absolute."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else home / p


def render_config(table: tuple[Setting, ...], values: dict[str, Any], title: str) -> str:
    """The config file `init` writes: every setting with its help."""
    lines = [f"# {title}. Paths are relative to this folder unless absolute.", ""]
    for s in table:
        lines.append(f"# {s.help}")
        lines.append(f"{s.name} = {_toml_value(values.get(s.name, s.default))}")
    return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
