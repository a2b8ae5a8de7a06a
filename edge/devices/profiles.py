"""Device profiles: one TOML data file per scanner, printer or appliance model.

Layout under the profiles root (default ``<repo>/firmware_profiles``, env
``JUANZONG_PROFILES`` overrides)::

    scanners/<name>.toml     kind = "scanner"
    printers/<name>.toml     kind = "printer"
    appliances/<name>.toml   kind = "appliance"

The schemas below are the single source of truth for the fields;
``firmware_profiles/README.md`` documents them for people. Validation is
deliberately strict: a missing key, an unknown key (a typo like ``setle_seconds``
would otherwise silently fall back to a default), a wrong type or a value outside
its allowed set is refused with AppError(PROFILE_INVALID) naming the field, so a
bad profile fails at start-up instead of mid-scan.
"""

from __future__ import annotations

import builtins
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from juanzong.shared.errors import AppError, ErrorCode

SCHEMA_VERSION = 1
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
KIND_DIRS = {"appliance": "appliances", "printer": "printers", "scanner": "scanners"}
# file type → the extensions a scanner writes for it (lower-case)
FILE_TYPES: dict[str, tuple[str, ...]] = {
    "jpeg": (".jpg", ".jpeg"),
    "tiff": (".tif", ".tiff"),
    "pdf": (".pdf",),
    "png": (".png",),
    "jp2": (".jp2", ".j2k", ".jpf", ".jpx"),
}
TRANSPORTS = ("usb", "network", "serial", "file")
_MISSING = object()


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Field:
    """One key: its type, whether it must be present, and what values it may take."""

    type: type
    required: bool = True
    default: Any = None
    choices: tuple[Any, ...] = ()
    item: builtins.type | None = None  # element type of a list (`type` above shadows the builtin here)
    check: Callable[[Any], str | None] | None = None  # returns a Chinese problem, or None


@dataclass(frozen=True)
class Table:
    fields: dict[str, Field | Table]
    required: bool = True


def _positive(v: float) -> str | None:
    return None if v > 0 else "必须大于 0"


def _not_negative(v: float) -> str | None:
    return None if v >= 0 else "不能为负数"


def _between(lo: int, hi: int) -> Callable[[int], str | None]:
    return lambda v: None if lo <= v <= hi else f"必须在 {lo} 到 {hi} 之间"


def _non_empty(v: str | list[Any]) -> str | None:
    return None if len(v) > 0 else "不能为空"


def _regex(v: str) -> str | None:
    try:
        re.compile(v)
    except re.error as err:
        return f"不是有效的正则表达式（{err}）"
    return None


def _regex_list(v: list[str]) -> str | None:
    return next((p for p in map(_regex, v) if p), None)


def _unique_non_empty(v: list[Any]) -> str | None:
    if not v:
        return "不能为空"
    return None if len(set(v)) == len(v) else "有重复的值"


def _relative_path(v: str) -> str | None:
    p = PurePosixPath(v)
    if not v or p.is_absolute() or ".." in p.parts:
        return "必须是相对于设备主目录的路径，且不能含“..”"
    return None


def _hot_folder_path(v: str) -> str | None:
    # absolute (a tmpfs mount, a network share) or relative to the appliance home
    return None if v and PurePosixPath(v).is_absolute() else _relative_path(v)


def _width_dots(v: int) -> str | None:
    if not 128 <= v <= 1024 or v % 8:
        return "必须是 128 到 1024 之间的 8 的倍数（打印头点数）"
    return None


def _common(kind: str) -> dict[str, Field | Table]:
    return {
        "schema": Field(int, choices=(SCHEMA_VERSION,)),
        "kind": Field(str, choices=(kind,)),
        "name": Field(str, check=_non_empty),
        "title": Field(str, check=_non_empty),
        "vendor": Field(str, required=False, default=""),
        "model": Field(str, required=False, default=""),
    }


SCANNER_SCHEMA = Table(
    {
        **_common("scanner"),
        "hot_folder": Table(
            {
                "path": Field(str, check=_hot_folder_path),
                "poll": Field(bool),
                "poll_interval_seconds": Field(float, check=_positive),
                "settle_seconds": Field(float, check=_not_negative),
                "tmpfs_required": Field(bool),
                # a file of a type not accepted, or one that never completes, is quarantined
                # after staying unchanged this long (default: 10 settle delays, at least 2 s)
                "grace_seconds": Field(float, required=False, default=0.0, check=_not_negative),
            }
        ),
        "files": Table(
            {
                "types": Field(list, item=str, choices=tuple(FILE_TYPES), check=_unique_non_empty),
                "naming": Field(str, check=_regex),
                "ignore": Field(list, item=str, check=_regex_list),
            }
        ),
        "image": Table(
            {
                "dpi": Field(int, check=_between(50, 2400)),
                "colour": Field(str, choices=("colour", "grey", "bw")),
                "max_pixels": Field(int, check=_positive),
            }
        ),
        "duplex": Table(
            {
                "enabled": Field(bool),
                "order": Field(str, choices=("simplex", "alternating")),
            }
        ),
        "blank_backside": Table({"policy": Field(str, choices=("flag", "drop"))}),
        "barcode": Table({"backend": Field(str, choices=("zxing", "pyzbar"))}),
        # an item whose last page is this old is complete: its PDF is assembled (edge/documents)
        "document": Table({"idle_seconds": Field(float, required=False, default=300.0, check=_positive)}, required=False),
    }
)

PRINTER_SCHEMA = Table(
    {
        **_common("printer"),
        "transport": Field(str, choices=TRANSPORTS),
        "width_dots": Field(int, check=_width_dots),
        "chinese": Field(str, choices=("raster", "gb18030")),
        "escpos_profile": Field(str, check=_non_empty),
        "font_px": Field(int, required=False, default=24, check=_between(12, 64)),
        "usb": Table(
            {
                "vendor_id": Field(int, check=_between(0, 0xFFFF)),
                "product_id": Field(int, check=_between(0, 0xFFFF)),
            },
            required=False,
        ),
        "network": Table(
            {
                "host": Field(str, check=_non_empty),
                "port": Field(int, required=False, default=9100, check=_between(1, 65535)),
                "timeout_seconds": Field(float, required=False, default=5.0, check=_positive),
            },
            required=False,
        ),
        "serial": Table(
            {
                "device": Field(str, check=_non_empty),
                "baudrate": Field(int, required=False, default=9600, check=_positive),
            },
            required=False,
        ),
        "file": Table({"path": Field(str, check=_relative_path)}, required=False),
    }
)

APPLIANCE_SCHEMA = Table(
    {
        **_common("appliance"),
        "cpu_cores": Field(int, check=_between(1, 256)),
        "ram_mb": Field(int, check=_positive),
        "scanner": Field(str, check=_non_empty),
        "printer": Field(str, check=_non_empty),
        "tmpfs": Table(
            {
                "hot_folder_mb": Field(int, check=_positive),
                "spool_mb": Field(int, check=_positive),
            }
        ),
    }
)

SCHEMAS = {"scanner": SCANNER_SCHEMA, "printer": PRINTER_SCHEMA, "appliance": APPLIANCE_SCHEMA}


# --------------------------------------------------------------------------- validation


class _Invalid(Exception):
    def __init__(self, field_name: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field_name
        self.detail = detail


_TYPE_NAMES = {bool: "布尔值（true/false）", int: "整数", float: "数字", str: "字符串", list: "列表", dict: "表"}


def _type_name(value: Any) -> str:
    return next((n for t, n in _TYPE_NAMES.items() if _is_type(value, t)), type(value).__name__)


def _is_type(value: Any, typ: type) -> bool:
    if typ is bool:
        return isinstance(value, bool)
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if typ is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, typ)


def _check_field(name: str, value: Any, spec: Field) -> Any:
    if value is _MISSING:
        if spec.required:
            raise _Invalid(name, f"缺少必填字段 {name}")
        return spec.default
    if not _is_type(value, spec.type):
        raise _Invalid(name, f"字段 {name} 应为{_TYPE_NAMES[spec.type]}，实际为{_type_name(value)}")
    values = value if spec.type is list else [value]
    if spec.item is not None:
        bad = next((v for v in values if not _is_type(v, spec.item)), _MISSING)
        if bad is not _MISSING:
            raise _Invalid(name, f"字段 {name} 的元素应为{_TYPE_NAMES[spec.item]}，实际为{_type_name(bad)}")
    if spec.choices:
        bad = next((v for v in values if v not in spec.choices), _MISSING)
        if bad is not _MISSING:
            allowed = "、".join(f"“{c}”" for c in spec.choices)
            raise _Invalid(name, f"字段 {name} 的值“{bad}”不在允许范围内（{allowed}）")
    if spec.check is not None and (problem := spec.check(value)):
        raise _Invalid(name, f"字段 {name} {problem}")
    return tuple(value) if spec.type is list else (float(value) if spec.type is float else value)


def _validate(data: dict[str, Any], table: Table, prefix: str = "") -> dict[str, Any]:
    """Flatten `data` to {"dotted.key": value}, defaults filled in; raise _Invalid on any fault."""
    unknown = sorted(set(data) - set(table.fields))
    if unknown:
        allowed = "、".join(table.fields)
        raise _Invalid(prefix + unknown[0], f"未知字段 {prefix + unknown[0]}（是否拼写错误？此处允许：{allowed}）")
    out: dict[str, Any] = {}
    for key, spec in table.fields.items():
        name = prefix + key
        value = data.get(key, _MISSING)
        if isinstance(spec, Field):
            out[name] = _check_field(name, value, spec)
        elif value is _MISSING:
            if spec.required:
                raise _Invalid(name, f"缺少表 [{name}]")
        elif not isinstance(value, dict):
            raise _Invalid(name, f"{name} 应为表 [{name}]，实际为{_type_name(value)}")
        else:
            out.update(_validate(value, spec, name + "."))
    return out


def _cross_checks(kind: str, values: dict[str, Any], data: dict[str, Any], stem: str) -> None:
    if not NAME_RE.fullmatch(values["name"]):
        raise _Invalid("name", f"字段 name 的值“{values['name']}”只能由小写字母、数字和“-”组成")
    if values["name"] != stem:
        raise _Invalid("name", f"字段 name 的值“{values['name']}”必须与文件名“{stem}”一致")
    if kind == "scanner":
        duplex, order = values["duplex.enabled"], values["duplex.order"]
        if duplex != (order == "alternating"):
            raise _Invalid("duplex.order", f"字段 duplex.order 为“{order}”，与 duplex.enabled = {str(duplex).lower()} 矛盾")
    if kind == "printer":
        transport = values["transport"]
        if transport not in data:
            raise _Invalid(transport, f"transport = “{transport}”时必须有 [{transport}] 表")
        extra = [t for t in TRANSPORTS if t != transport and t in data]
        if extra:
            raise _Invalid(extra[0], f"transport = “{transport}”时不应有 [{extra[0]}] 表")


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class ScannerProfile:
    """A scanner model: where it writes, what it writes, and how to read it."""

    name: str
    title: str
    path: Path
    vendor: str
    model: str
    hot_folder: str  # absolute, or relative to the appliance home
    poll: bool  # polling observer: inotify does not see writes on CIFS/NFS
    poll_interval_seconds: float
    settle_seconds: float  # size + mtime unchanged this long before a file is taken
    tmpfs_required: bool
    file_types: tuple[str, ...]
    naming: str  # regex the scanner's file names match
    ignore: tuple[str, ...]  # regexes (re.search on the file name) for temp/partial files
    dpi: int
    colour: str
    max_pixels: int
    duplex: bool
    duplex_order: str
    blank_backside: str
    barcode_backend: str
    grace_setting: float = 0.0  # 0 = derived from settle_seconds (see grace_seconds)
    document_idle_seconds: float = 300.0
    kind: str = field(default="scanner", init=False)

    @property
    def grace_seconds(self) -> float:
        """How long an unaccepted or never-complete file may sit unchanged before it is quarantined."""
        return self.grace_setting or max(2.0, 10 * self.settle_seconds)

    def hot_folder_path(self, home: Path) -> Path:
        return Path(self.hot_folder) if Path(self.hot_folder).is_absolute() else Path(home) / self.hot_folder

    @property
    def extensions(self) -> tuple[str, ...]:
        return tuple(ext for t in self.file_types for ext in FILE_TYPES[t])

    def is_ignored(self, filename: str) -> bool:
        return any(re.search(p, filename) for p in self.ignore)

    def accepts(self, filename: str) -> bool:
        """A file to take: not a temp/partial file and of a type this scanner writes."""
        return not self.is_ignored(filename) and filename.lower().endswith(self.extensions)

    def matches_naming(self, filename: str) -> bool:
        return re.search(self.naming, filename) is not None

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "title": self.title,
            "vendor": self.vendor,
            "model": self.model,
            "dpi": self.dpi,
            "colour": self.colour,
            "duplex": self.duplex,
            "poll": self.poll,
            "hot_folder": self.hot_folder,
            "path": str(self.path),
        }


@dataclass(frozen=True)
class PrinterProfile:
    """A receipt printer model and how to reach it."""

    name: str
    title: str
    path: Path
    vendor: str
    model: str
    transport: str
    width_dots: int  # printable dots per line: raster images never exceed it
    chinese: str  # "raster" (Pillow bitmap) or "gb18030" (printer boots in Chinese mode)
    escpos_profile: str  # python-escpos capability profile name
    font_px: int = 24
    usb_vendor_id: int | None = None
    usb_product_id: int | None = None
    host: str = ""
    port: int = 9100
    timeout_seconds: float = 5.0
    serial_device: str = ""
    baudrate: int = 9600
    file_path: str = ""  # relative to the appliance home
    kind: str = field(default="printer", init=False)

    def file_output(self, home: Path) -> Path:
        return Path(home) / self.file_path

    @property
    def target(self) -> str:
        """Where the printer is, for people (health page, logs)."""
        if self.transport == "usb":
            return f"USB {self.usb_vendor_id:04x}:{self.usb_product_id:04x}"
        if self.transport == "network":
            return f"{self.host}:{self.port}"
        return self.serial_device if self.transport == "serial" else self.file_path

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "title": self.title,
            "vendor": self.vendor,
            "model": self.model,
            "transport": self.transport,
            "target": self.target,
            "width_dots": self.width_dots,
            "chinese": self.chinese,
            "path": str(self.path),
        }


@dataclass(frozen=True)
class ApplianceProfile:
    """An appliance model: its hardware, tmpfs sizes and the devices it ships with."""

    name: str
    title: str
    path: Path
    vendor: str
    model: str
    cpu_cores: int
    ram_mb: int
    scanner: str
    printer: str
    tmpfs_hot_folder_mb: int
    tmpfs_spool_mb: int
    kind: str = field(default="appliance", init=False)

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "title": self.title,
            "vendor": self.vendor,
            "model": self.model,
            "scanner": self.scanner,
            "printer": self.printer,
            "path": str(self.path),
        }


Profile = ScannerProfile | PrinterProfile | ApplianceProfile
_P = TypeVar("_P", ScannerProfile, PrinterProfile, ApplianceProfile)


def _scanner(v: dict[str, Any], path: Path) -> ScannerProfile:
    return ScannerProfile(
        name=v["name"],
        title=v["title"],
        path=path,
        vendor=v["vendor"],
        model=v["model"],
        hot_folder=v["hot_folder.path"],
        poll=v["hot_folder.poll"],
        poll_interval_seconds=v["hot_folder.poll_interval_seconds"],
        settle_seconds=v["hot_folder.settle_seconds"],
        tmpfs_required=v["hot_folder.tmpfs_required"],
        file_types=v["files.types"],
        naming=v["files.naming"],
        ignore=v["files.ignore"],
        dpi=v["image.dpi"],
        colour=v["image.colour"],
        max_pixels=v["image.max_pixels"],
        duplex=v["duplex.enabled"],
        duplex_order=v["duplex.order"],
        blank_backside=v["blank_backside.policy"],
        barcode_backend=v["barcode.backend"],
        grace_setting=v["hot_folder.grace_seconds"],
        document_idle_seconds=v.get("document.idle_seconds", 300.0),
    )


def _printer(v: dict[str, Any], path: Path) -> PrinterProfile:
    transport: dict[str, Any] = {
        "usb": {"usb_vendor_id": v.get("usb.vendor_id"), "usb_product_id": v.get("usb.product_id")},
        "network": {"host": v.get("network.host"), "port": v.get("network.port"), "timeout_seconds": v.get("network.timeout_seconds")},
        "serial": {"serial_device": v.get("serial.device"), "baudrate": v.get("serial.baudrate")},
        "file": {"file_path": v.get("file.path")},
    }[v["transport"]]
    return PrinterProfile(
        name=v["name"],
        title=v["title"],
        path=path,
        vendor=v["vendor"],
        model=v["model"],
        transport=v["transport"],
        width_dots=v["width_dots"],
        chinese=v["chinese"],
        escpos_profile=v["escpos_profile"],
        font_px=v["font_px"],
        **transport,
    )


def _appliance(v: dict[str, Any], path: Path) -> ApplianceProfile:
    return ApplianceProfile(
        name=v["name"],
        title=v["title"],
        path=path,
        vendor=v["vendor"],
        model=v["model"],
        cpu_cores=v["cpu_cores"],
        ram_mb=v["ram_mb"],
        scanner=v["scanner"],
        printer=v["printer"],
        tmpfs_hot_folder_mb=v["tmpfs.hot_folder_mb"],
        tmpfs_spool_mb=v["tmpfs.spool_mb"],
    )


_BUILDERS: dict[str, Callable[[dict[str, Any], Path], Profile]] = {
    "scanner": _scanner,
    "printer": _printer,
    "appliance": _appliance,
}


# --------------------------------------------------------------------------- loading


def profiles_root() -> Path:
    env = os.environ.get("JUANZONG_PROFILES")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "firmware_profiles"


def _invalid(path: Path, detail: str, field_name: str = "") -> AppError:
    return AppError(ErrorCode.PROFILE_INVALID, path=str(path), detail=detail, field=field_name)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise _invalid(path, f"TOML 语法错误：{err}") from err
    except UnicodeDecodeError as err:
        raise _invalid(path, "文件不是 UTF-8 编码") from err
    except OSError as err:
        raise _invalid(path, f"无法读取文件（{err.strerror}）") from err


def load_profile(path: Path, kind: str) -> Profile:
    """One profile file of the given kind, validated; AppError(PROFILE_INVALID) if it is not."""
    path = Path(path)
    data = _read_toml(path)
    try:
        values = _validate(data, SCHEMAS[kind])
        _cross_checks(kind, values, data, path.stem)
    except _Invalid as bad:
        raise _invalid(path, bad.detail, bad.field) from None
    return _BUILDERS[kind](values, path)


def load_profiles(root: Path | None = None) -> list[Profile]:
    """Every profile under `root`, sorted by kind then name; the first bad file raises."""
    root = Path(root) if root is not None else profiles_root()
    profiles = [load_profile(path, kind) for kind, sub in KIND_DIRS.items() for path in sorted((root / sub).glob("*.toml"))]
    _check_appliance_refs(profiles)
    return sorted(profiles, key=lambda p: (p.kind, p.name))


def _check_appliance_refs(profiles: list[Profile]) -> None:
    names = {(p.kind, p.name) for p in profiles}
    for p in profiles:
        if isinstance(p, ApplianceProfile):
            for kind, ref in (("scanner", p.scanner), ("printer", p.printer)):
                if (kind, ref) not in names:
                    raise _invalid(p.path, f"字段 {kind} 引用的{kind}配置“{ref}”不存在", kind)


def _get(kind: str, name: str, root: Path | None, cls: type[_P]) -> _P:
    root = Path(root) if root is not None else profiles_root()
    path = root / KIND_DIRS[kind] / f"{name}.toml"
    # the name pattern also keeps a name from reaching outside the profiles folder
    if not NAME_RE.fullmatch(name or "") or not path.is_file():
        raise AppError(ErrorCode.PROFILE_NOT_FOUND, name=name, kind=kind)
    profile = load_profile(path, kind)
    if not isinstance(profile, cls):  # the kind's folder decides its builder: never reached
        raise _invalid(path, f"不是{kind}配置", "kind")
    return profile


def get_scanner(name: str, root: Path | None = None) -> ScannerProfile:
    return _get("scanner", name, root, ScannerProfile)


def get_printer(name: str, root: Path | None = None) -> PrinterProfile:
    return _get("printer", name, root, PrinterProfile)


def get_appliance(name: str, root: Path | None = None) -> ApplianceProfile:
    return _get("appliance", name, root, ApplianceProfile)
