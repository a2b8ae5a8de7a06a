"""What the OS profile is made from: the appliance's settings and its device profiles.

Everything the renderers need is gathered and checked here, once, so the renderers are
plain functions of one frozen value. A setting that would make the firewall meaningless
(a court network of 0.0.0.0/0, a printer named by host name, a resolver that is not an
address) is refused with LOCKDOWN_INVALID instead of producing a profile that looks safe.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

from juanzong.edge.config import EdgeSettings
from juanzong.edge.devices.profiles import get_appliance, get_printer, get_scanner
from juanzong.shared.errors import AppError, ErrorCode

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# systemd's ProtectHome=yes hides these: neither the program nor the home may live there
HIDDEN_BY_PROTECT_HOME = ("/home", "/root", "/run/user")
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")
IFACE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")


class PrinterTransport(StrEnum):
    USB = "usb"
    NETWORK = "network"
    SERIAL = "serial"
    FILE = "file"


@dataclass(frozen=True)
class PrinterAccess:
    """What the appliance's service must be allowed to reach to print."""

    transport: PrinterTransport
    address: IPAddress | None = None  # network printers: an IP literal (the firewall needs one)
    port: int = 9100
    usb_id: tuple[int, int] | None = None  # (vendor, product)
    serial_device: str = ""


@dataclass(frozen=True)
class AdmittedMedium:
    """A medium registered for this appliance, still valid, with the filesystem UUID `edge media init` recorded."""

    medium_id: str
    fs_uuid: str
    valid_until: str


@dataclass(frozen=True)
class LockdownInputs:
    appliance_id: str
    appliance_profile: str
    scanner_profile: str
    printer_profile: str
    home: Path
    keys_dir: Path
    data_dir: Path
    executable: Path  # the `juanzong` console script
    user: str
    hot_folder: Path
    tmpfs_required: bool
    tmpfs_mb: int  # hot folder + spool: one filesystem (the spool is renamed into from the hot folder)
    court_networks: tuple[IPNetwork, ...]
    dns: tuple[IPAddress, ...]
    printer: PrinterAccess
    counter_interface: str  # "" = the kiosk listens on loopback only
    kiosk_host: IPAddress  # the kiosk is served by `edge run` (kiosk_listen)
    kiosk_port: int
    edge_commands: frozenset[str]  # `edge` sub-commands this build has (the OCR worker is optional)
    media: tuple[AdmittedMedium, ...] = ()  # the udev rules admit these and nothing else

    @property
    def ocr_command(self) -> str | None:
        # the OCR / searchable-PDF worker landed as `edge documents-worker`
        return next((c for c in ("documents-worker", "ocr-worker", "ocr") if c in self.edge_commands), None)

    @property
    def kiosk_on_counter(self) -> bool:
        return not self.kiosk_host.is_loopback

    def warnings(self) -> list[str]:
        """What still works but a court's IT staff should know (shown by `edge lockdown`)."""
        out = []
        if any(PurePosixPath(p).is_relative_to(t) for p in (self.home, self.hot_folder) for t in ("/tmp", "/var/tmp")):
            out.append("设备目录或热文件夹位于 /tmp 下：服务的 PrivateTmp 会把它隐藏，仅适用于测试")
        if all(n.is_loopback for n in self.court_networks):
            out.append("court_networks 只有本机回环地址：防火墙将不允许任何对外连接")
        if not self.dns:
            out.append("未配置 court_dns：设备无法解析域名，central_url 须写 IP 地址")
        if self.kiosk_on_counter:
            out.append(
                f"窗口登记界面在 {self.counter_interface} 的 {self.kiosk_host}:{self.kiosk_port} 上监听：窗口电脑的地址须在 court_networks 内"
            )
        if not self.tmpfs_required:
            out.append(f"扫描仪配置 {self.scanner_profile} 不要求 tmpfs：不生成热文件夹的内存文件系统挂载")
        return out

    @property
    def printer_networks(self) -> tuple[IPNetwork, ...]:
        a = self.printer.address
        return (ipaddress.ip_network(a),) if a is not None else ()


def _invalid(detail: str) -> AppError:
    return AppError(ErrorCode.LOCKDOWN_INVALID, detail=detail)


def gather(
    settings: EdgeSettings,
    *,
    executable: Path | None = None,
    commands: frozenset[str] | None = None,
    media: tuple[AdmittedMedium, ...] | None = None,
) -> LockdownInputs:
    appliance = get_appliance(settings.appliance_profile)
    scanner = get_scanner(settings.scanner_profile)
    exe = Path(executable) if executable is not None else default_executable()
    inputs = LockdownInputs(
        appliance_id=settings.appliance_id,
        appliance_profile=appliance.name,
        scanner_profile=scanner.name,
        printer_profile=settings.printer_profile,
        home=settings.home,
        keys_dir=settings.keys_dir,
        data_dir=settings.data_dir,
        executable=exe,
        user=_user(settings.service_user),
        hot_folder=settings.hot_folder,
        tmpfs_required=scanner.tmpfs_required,
        tmpfs_mb=appliance.tmpfs_hot_folder_mb + appliance.tmpfs_spool_mb,
        court_networks=_court_networks(settings.court_networks),
        dns=tuple(_address(a, "court_dns") for a in settings.court_dns),
        printer=printer_access(settings.printer_profile),
        counter_interface=_interface(settings.counter_interface),
        kiosk_host=_kiosk_host(settings.kiosk_address[0], settings.counter_interface),
        kiosk_port=settings.kiosk_address[1],
        edge_commands=commands if commands is not None else edge_commands(),
        media=media if media is not None else registered_media(settings),
    )
    _check_paths(inputs)
    return inputs


def registered_media(settings: EdgeSettings) -> tuple[AdmittedMedium, ...]:
    """The appliance's valid registered media, from its database (now, by the program's clock)."""
    from juanzong.edge.media import admitted_media
    from juanzong.edge.repo import connect, migrate
    from juanzong.shared import clock

    migrate(settings)
    db = connect(settings.db_path)
    try:
        return admitted_media(db, clock.now())
    finally:
        db.close()


def default_executable() -> Path:
    """The `juanzong` script beside the running interpreter (the appliance's own venv)."""
    return Path(sys.prefix) / "bin" / "juanzong"


def edge_commands() -> frozenset[str]:
    import argparse

    from juanzong.shared.cli import build_parser

    def subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        return next((a.choices for a in p._actions if isinstance(a, argparse._SubParsersAction)), {})

    return frozenset(subparsers(subparsers(build_parser())["edge"]))


def printer_access(name: str) -> PrinterAccess:
    printer = get_printer(name)
    transport = PrinterTransport(printer.transport)
    if transport is PrinterTransport.NETWORK:
        return PrinterAccess(transport, address=_address(printer.host, f"打印机配置 {name} 的 network.host"), port=printer.port)
    if transport is PrinterTransport.USB:
        return PrinterAccess(transport, usb_id=(printer.usb_vendor_id or 0, printer.usb_product_id or 0))
    if transport is PrinterTransport.SERIAL:
        return PrinterAccess(transport, serial_device=printer.serial_device)
    return PrinterAccess(transport)


def _address(text: str, what: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise _invalid(f"{what}“{text}”必须是 IP 地址（防火墙按地址放行，不能写主机名）") from None


def _court_networks(networks: tuple[IPNetwork, ...]) -> tuple[IPNetwork, ...]:
    if not networks:
        raise _invalid("court_networks 为空：设备将无法与中心通信")
    wide = [str(n) for n in networks if n.prefixlen == 0]
    if wide:
        raise _invalid(f"court_networks 含 {', '.join(wide)}，等于不设防火墙；请填写法院内网的具体地址段")
    return networks


def _user(name: str) -> str:
    if not USER_RE.fullmatch(name) or name == "root":
        raise _invalid(f"service_user“{name}”不是可用的系统用户名（不能是 root）")
    return name


def _interface(name: str) -> str:
    if name and (not IFACE_RE.fullmatch(name) or name == "lo"):
        raise _invalid(f"counter_interface“{name}”不是有效的网卡名")
    return name


def _kiosk_host(host: str, counter_interface: str) -> IPAddress:
    """Loopback, or an address of the counter interface (then the firewall admits the port there only)."""
    address = _address(host, "kiosk_listen 的地址")
    if address.is_unspecified:
        raise _invalid(f"kiosk_listen 为 {host}，会在所有网卡上监听；请写 127.0.0.1 或窗口网卡的地址")
    if not address.is_loopback and not counter_interface:
        raise _invalid(f"kiosk_listen 的地址 {host} 不是本机回环地址：请同时设置 counter_interface（窗口网卡）")
    return address


def _check_paths(inputs: LockdownInputs) -> None:
    for what, path in (("设备目录", inputs.home), ("程序", inputs.executable), ("热文件夹", inputs.hot_folder)):
        p = PurePosixPath(path)
        if not p.is_absolute():
            raise _invalid(f"{what}路径 {path} 必须是绝对路径")
        hidden = next((h for h in HIDDEN_BY_PROTECT_HOME if p == PurePosixPath(h) or PurePosixPath(h) in p.parents), None)
        if hidden:
            raise _invalid(f"{what} {path} 位于 {hidden} 下，加固后的服务看不到该目录；请安装到 /opt 与 /var/lib 等位置")
