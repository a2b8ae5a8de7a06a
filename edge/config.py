"""Appliance settings: `<home>/config.toml`, loaded once into a frozen `EdgeSettings`.

Every setting has a default and a line of help in `SETTINGS`; `edge init`
writes the file from these, so the file an operator sees documents itself.
Paths in the file are relative to the home unless absolute. The keys directory
is deliberately its own setting: on a production appliance it points at a
TPM-unsealed ramfs, never beside `data/`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from juanzong.edge.netpolicy import parse_networks
from juanzong.shared import settings as shared_settings
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.settings import Setting, under
from juanzong.shared.suites import SETTING_NAMES, Suite

SETTINGS: tuple[Setting, ...] = (
    Setting("appliance_id", "", "this appliance's id (written by edge init)"),
    Setting("name", "扫描点", "a name people recognise, printed on receipts"),
    Setting("court", "", "court name printed on receipts"),
    Setting("scanner_profile", "simulated", "firmware_profiles/scanners/<name>.toml"),
    Setting("printer_profile", "file-printer", "firmware_profiles/printers/<name>.toml"),
    Setting("hot_folder", "", "override the scanner profile's hot folder (empty = profile's)"),
    Setting("keys_dir", "keys", "key directory: never beside data/ in production (TPM-unsealed ramfs)"),
    Setting("data_dir", "data", "database and encrypted blobs"),
    Setting("central_url", "", "central server base URL, e.g. https://archive.court.internal:8470"),
    Setting(
        "court_networks",
        ["127.0.0.0/8", "::1/128"],
        "address ranges sync and a network receipt printer may connect to (CIDR; no catch-all, IPv4 /8 or narrower)",
    ),
    Setting("batch_idle_seconds", 10.0, "seal the open batch after this long without a new page"),
    Setting("batch_max_pages", 500, "seal the open batch when it holds this many pages"),
    Setting("sync_interval_seconds", 2.0, "how often the sync loop looks for sealed batches"),
    Setting("sync_timeout_seconds", 30.0, "HTTP timeout per request"),
    Setting("sync_backoff_max_seconds", 60.0, "longest wait between retries of one batch"),
    Setting("rescan_seconds", 30.0, "periodic rescan of the hot folder for missed events"),
    Setting("end_of_day", "18:00", "due time for material received before the cut-off"),
    Setting("urgent_hours", 2, "加急: hours after receipt"),
    Setting("appliance_profile", "fanless-2core", "firmware_profiles/appliances/<name>.toml (tmpfs sizes, edge lockdown)"),
    Setting("court_dns", [], "court DNS resolvers (IP addresses): the only DNS servers the firewall lets the appliance ask"),
    Setting("service_user", "juanzong", "system user the appliance's services run as (edge lockdown)"),
    Setting("crypto_suite", "aes", "blob crypto: aes (AES-256-GCM, SHA-256) or sm (商用密码: SM4-GCM, SM3); both can be read"),
    Setting("purge_after_days", 30, "shred a page's local key wrap and file this many days after central acknowledged it"),
    Setting("quarantine_retention_days", 30, "shred quarantined files this many days after they were quarantined"),
    Setting("receipt_retention_days", 90, "destroy the kept copies of printed receipts and slips after this many days"),
    Setting("counter_interface", "", "network interface of the counter PC the kiosk may listen on (empty = loopback only)"),
    Setting("kiosk_listen", "127.0.0.1:8080", "counter kiosk address (host:port), served by edge run"),
    Setting("kiosk_idle_minutes", 5, "kiosk: log out after this many minutes without a request"),
    Setting("kiosk_tls", False, "kiosk served through a TLS terminator: session cookies get Secure"),
    Setting("max_declared_pages", 5000, "intake: an item declaring more pages than this is refused as a likely typo"),
    Setting("loan_days", 7, "custody register: days a borrowed file may stay out before it is overdue"),
    Setting("ocr_threads", 2, "OCR worker threads (onnxruntime); 0 = no OCR worker: image-only PDFs only"),
    Setting(
        "qc_two_person",
        ["证据材料", "副卷"],
        "two-person QC (双人质检): a second operator checks an approved item "
        "whose catalog directory or name contains one of these; '副卷' = every internal-volume item, '全部' = every item, [] = off",
    ),
)


@dataclass(frozen=True)
class EdgeSettings:
    home: Path
    appliance_id: str
    name: str
    court: str
    scanner_profile: str
    printer_profile: str
    hot_folder: Path
    keys_dir: Path
    data_dir: Path
    central_url: str
    court_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    batch_idle_seconds: float
    batch_max_pages: int
    sync_interval_seconds: float
    sync_timeout_seconds: float
    sync_backoff_max_seconds: float
    rescan_seconds: float
    end_of_day: str
    urgent_hours: int
    appliance_profile: str = "fanless-2core"
    court_dns: tuple[str, ...] = ()
    service_user: str = "juanzong"
    counter_interface: str = ""
    crypto_suite: Suite = Suite.AES
    purge_after_days: int = 30
    quarantine_retention_days: int = 30
    receipt_retention_days: int = 90
    kiosk_listen: str = "127.0.0.1:8080"
    kiosk_idle_minutes: int = 5
    kiosk_tls: bool = False
    loan_days: int = 7
    max_declared_pages: int = 5000
    qc_two_person: tuple[str, ...] = ("证据材料", "副卷")

    @property
    def kiosk_address(self) -> tuple[str, int]:
        host, _, port = self.kiosk_listen.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)

    @property
    def kiosk_url(self) -> str:
        host, port = self.kiosk_address
        shown = f"[{host}]" if ":" in host else host
        return f"{'https' if self.kiosk_tls else 'http'}://{shown}:{port}/"

    ocr_threads: int = 2

    @property
    def db_path(self) -> Path:
        return self.data_dir / "edge.db"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def spool_dir(self) -> Path:
        # inside the hot folder: same filesystem (atomic rename) and the same tmpfs
        return self.hot_folder / ".juanzong-spool"

    @property
    def calendar_overrides(self) -> Path:
        return self.home / "calendar_overrides.toml"


def config_path(home: Path) -> Path:
    return home / "config.toml"


def resolve_home(value: str | None) -> Path:
    return shared_settings.resolve_home(value, "JUANZONG_HOME", "设备目录")


def load_settings(home: Path) -> EdgeSettings:
    return _from_mapping(home, shared_settings.read_values(home, SETTINGS, "edge"))


def settings_from(home: Path, values: dict[str, Any]) -> EdgeSettings:
    """Settings from a full mapping of values, checked as at load (edge init, edge config set)."""
    return _from_mapping(home, values)


def _from_mapping(home: Path, values: dict[str, Any]) -> EdgeSettings:
    networks = parse_networks(values["court_networks"])  # catch-alls refused
    hot = values["hot_folder"] or _profile_hot_folder(values["scanner_profile"])
    settings = EdgeSettings(
        home=home,
        appliance_id=values["appliance_id"],
        name=values["name"],
        court=values["court"],
        scanner_profile=values["scanner_profile"],
        printer_profile=values["printer_profile"],
        hot_folder=under(home, hot),
        keys_dir=under(home, values["keys_dir"]),
        data_dir=under(home, values["data_dir"]),
        central_url=values["central_url"].rstrip("/"),
        court_networks=networks,
        batch_idle_seconds=float(values["batch_idle_seconds"]),
        batch_max_pages=values["batch_max_pages"],
        sync_interval_seconds=float(values["sync_interval_seconds"]),
        sync_timeout_seconds=float(values["sync_timeout_seconds"]),
        sync_backoff_max_seconds=float(values["sync_backoff_max_seconds"]),
        rescan_seconds=float(values["rescan_seconds"]),
        end_of_day=values["end_of_day"],
        urgent_hours=values["urgent_hours"],
        appliance_profile=values["appliance_profile"],
        court_dns=tuple(values["court_dns"]),
        service_user=values["service_user"],
        counter_interface=values["counter_interface"],
        crypto_suite=_suite(values["crypto_suite"]),
        purge_after_days=_days(values, "purge_after_days"),
        quarantine_retention_days=_days(values, "quarantine_retention_days"),
        receipt_retention_days=_days(values, "receipt_retention_days"),
        kiosk_listen=_listen(values["kiosk_listen"]),
        kiosk_idle_minutes=int(values["kiosk_idle_minutes"]),
        kiosk_tls=bool(values["kiosk_tls"]),
        loan_days=int(values["loan_days"]),
        max_declared_pages=int(values["max_declared_pages"]),
        ocr_threads=int(values["ocr_threads"]),
        qc_two_person=tuple(str(v) for v in values["qc_two_person"]),
    )
    from juanzong.edge.repo import cipher as dbcipher  # the database's key lives in this home's keys directory

    dbcipher.register(settings.db_path, settings.keys_dir)
    return settings


def _listen(value: str) -> str:
    host, sep, port = str(value).rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"kiosk_listen“{value}”应为 主机:端口，如 127.0.0.1:8080")
    return str(value)


def _days(values: dict[str, Any], name: str) -> int:
    if values[name] < 0:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"{name} 不能为负数")
    return values[name]


def _suite(name: str) -> Suite:
    if name not in SETTING_NAMES:
        raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"crypto_suite 只能是 {' 或 '.join(SETTING_NAMES)}，而不是“{name}”")
    return SETTING_NAMES[name]


def _profile_hot_folder(profile_name: str) -> str:
    from juanzong.edge.devices.profiles import get_scanner

    return get_scanner(profile_name).hot_folder


def render_config(values: dict[str, Any]) -> str:
    """The config file `edge init` writes: every setting with its help."""
    return shared_settings.render_config(SETTINGS, values, "卷宗 appliance settings")
