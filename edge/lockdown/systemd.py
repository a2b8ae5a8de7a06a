"""systemd units for the appliance, hardened so `systemd-analyze security` scores them ≤ 2.0.

Each service runs as the dedicated service user with an empty capability set, sees the
file system read-only except its home (and the hot folder, for `edge run`), sees the
keys directory read-only, gets its own /tmp, no new privileges, the `@system-service`
system-call set minus privileged and resource calls, and reaches only the court
networks, the printer and the court's resolvers (`IPAddressDeny=any` + allow list; the
nftables ruleset is the second wall). The counter kiosk is served by `edge run` itself on
`kiosk_listen` (loopback, or an address of the counter interface, which must then lie in the
court networks). The OCR worker has no network at all.

Rendered files are `RenderedFile`s: where they are installed and what they contain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath

from juanzong.edge.lockdown.inputs import LockdownInputs, PrinterTransport

UNIT_DIR = "/etc/systemd/system"
EDGE_UNIT = "juanzong-edge.service"
OCR_UNIT = "juanzong-ocr.service"
SWAPOFF_UNIT = "juanzong-swapoff.service"
MEDIA_RULES_UNIT = "juanzong-media-rules.service"
MEDIA_RULES_TIMER = "juanzong-media-rules.timer"
ROOT_ONESHOTS = (SWAPOFF_UNIT, MEDIA_RULES_UNIT)  # root by nature: not scored against the ≤ 2.0 bar


@dataclass(frozen=True)
class RenderedFile:
    target: str  # absolute path on the appliance
    text: str
    mode: int = 0o644


Lines = list[tuple[str, str]]

# What every juanzong service gets. Values that depend on the service come after.
HARDENING: Lines = [
    ("NoNewPrivileges", "yes"),
    ("CapabilityBoundingSet", ""),
    ("AmbientCapabilities", ""),
    ("ProtectSystem", "strict"),
    ("ProtectHome", "yes"),
    ("PrivateTmp", "yes"),
    ("PrivateMounts", "yes"),
    ("PrivateIPC", "yes"),
    ("PrivateUsers", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectKernelLogs", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectClock", "yes"),
    ("ProtectHostname", "yes"),
    ("ProtectProc", "invisible"),
    ("RestrictNamespaces", "yes"),
    ("RestrictRealtime", "yes"),
    ("RestrictSUIDSGID", "yes"),
    ("LockPersonality", "yes"),
    ("MemoryDenyWriteExecute", "yes"),
    ("RemoveIPC", "yes"),
    ("KeyringMode", "private"),
    ("UMask", "0077"),
    ("SystemCallArchitectures", "native"),
    ("SystemCallFilter", "@system-service"),
    ("SystemCallFilter", "~@privileged @resources"),
    ("SystemCallErrorNumber", "EPERM"),
    ("DevicePolicy", "closed"),
]


def _section(name: str, lines: Lines) -> str:
    return f"[{name}]\n" + "".join(f"{k}={v}\n" for k, v in lines)


def _unit(comment: str, sections: list[tuple[str, Lines]]) -> str:
    head = "".join(f"# {line}\n" for line in comment.splitlines())
    head += "# Rendered by `juanzong edge lockdown`; edit the settings and render again rather than this file.\n"
    return head + "\n".join(_section(n, lines) for n, lines in sections)


def _q(path: object) -> str:
    """A path as one systemd word (quoted when it holds a space)."""
    text = str(path)
    return f'"{text}"' if any(c.isspace() for c in text) else text


def escape_path(path: str) -> str:
    """`systemd-escape --path`: the unit name a mount point must have."""
    parts = [p for p in PurePosixPath(path).parts if p != "/"]
    if not parts:
        return "-"
    return "-".join("".join(_escape_char(c, i == 0 and j == 0) for j, c in enumerate(p)) for i, p in enumerate(parts))


def _escape_char(c: str, first: bool) -> str:
    if c.isascii() and (c.isalnum() or c in ":_" or (c == "." and not first)):
        return c
    return "".join(f"\\x{b:02x}" for b in c.encode("utf-8"))


def mount_unit_name(path: PurePath | str) -> str:
    return escape_path(str(path)) + ".mount"


def _writable(inp: LockdownInputs, hot: bool) -> Lines:
    paths = [inp.home]
    if not inp.data_dir.is_relative_to(inp.home):
        paths.append(inp.data_dir)
    if hot and not inp.hot_folder.is_relative_to(inp.home):
        paths.append(inp.hot_folder)
    lines = [("ReadWritePaths", " ".join(_q(p) for p in paths))]
    # keys are read, never written, by a running service (rotation is an operator's command)
    lines.append(("ReadOnlyPaths", _q(inp.keys_dir)))
    return lines


def _ip_allow(inp: LockdownInputs) -> Lines:
    nets = [str(n) for n in (*inp.court_networks, *inp.printer_networks)] + [str(a) for a in inp.dns]
    return [("IPAddressDeny", "any"), ("IPAddressAllow", " ".join(["localhost", *dict.fromkeys(nets)]))]


def _devices(inp: LockdownInputs) -> Lines:
    """The printer's device node, where `edge run` prints to one."""
    printer = inp.printer
    if printer.transport is PrinterTransport.USB:
        return [("PrivateDevices", "no"), ("DeviceAllow", "char-usb_device rw")]
    if printer.transport is PrinterTransport.SERIAL:
        return [("PrivateDevices", "no"), ("DeviceAllow", f"{printer.serial_device} rw")]
    return [("PrivateDevices", "yes")]


def _families(inp: LockdownInputs) -> str:
    # libusb (pyusb) watches hot-plug events on a netlink socket and fails to start without one
    extra = " AF_NETLINK" if inp.printer.transport is PrinterTransport.USB else ""
    return "AF_UNIX AF_INET AF_INET6" + extra


def _service(inp: LockdownInputs, command: str, body: Lines) -> Lines:
    return [
        ("Type", "simple"),
        ("User", inp.user),
        ("Group", inp.user),
        ("ExecStart", f"{_q(inp.executable)} edge {command} --home {_q(inp.home)}"),
        ("Environment", "PYTHONDONTWRITEBYTECODE=1"),
        ("Restart", "on-failure"),
        ("RestartSec", "5s"),
        ("TimeoutStopSec", "30s"),
        *body,
        *HARDENING,
    ]


def edge_unit(inp: LockdownInputs) -> RenderedFile:
    mounts = [("RequiresMountsFor", _q(inp.hot_folder))] if inp.tmpfs_required else []
    unit: Lines = [
        ("Description", "卷宗扫描点设备：监视热文件夹、加密入库、封包同步、打印回执、窗口登记界面"),
        ("Wants", "network-online.target"),
        ("After", f"network-online.target nftables.service {SWAPOFF_UNIT}"),
        ("Requires", SWAPOFF_UNIT),
        *mounts,
    ]
    body = [*_writable(inp, hot=True), *_devices(inp), ("RestrictAddressFamilies", _families(inp)), *_ip_allow(inp)]
    service = _service(inp, "run", body)
    text = _unit(
        f"卷宗 appliance: `edge run` for {inp.appliance_id} ({inp.appliance_profile}).",
        [("Unit", unit), ("Service", service), ("Install", [("WantedBy", "multi-user.target")])],
    )
    return RenderedFile(f"{UNIT_DIR}/{EDGE_UNIT}", text)


def ocr_unit(inp: LockdownInputs) -> RenderedFile | None:
    if inp.ocr_command is None:
        return None
    unit: Lines = [("Description", "卷宗扫描点设备：后台文字识别（按时限先后）"), ("After", EDGE_UNIT)]
    body = [
        *_writable(inp, hot=False),
        ("PrivateDevices", "yes"),
        ("PrivateNetwork", "yes"),  # reads blobs, writes text layers: no network at all
        ("RestrictAddressFamilies", "AF_UNIX"),
        ("IPAddressDeny", "any"),
        ("Nice", "10"),
        ("CPUWeight", "20"),  # intake and ingest first; OCR takes what is left
        ("IOSchedulingClass", "idle"),
    ]
    service = _service(inp, inp.ocr_command, body)
    text = _unit(
        f"卷宗 appliance: the OCR worker (`edge {inp.ocr_command}`), no network.",
        [("Unit", unit), ("Service", service), ("Install", [("WantedBy", "multi-user.target")])],
    )
    return RenderedFile(f"{UNIT_DIR}/{OCR_UNIT}", text)


def hot_mount(inp: LockdownInputs) -> RenderedFile | None:
    """tmpfs for the hot folder and the spool inside it (one filesystem: the spool is a rename away)."""
    if not inp.tmpfs_required:
        return None
    where = PurePosixPath(inp.hot_folder)
    options = f"mode=2770,uid={inp.user},gid={inp.user},size={inp.tmpfs_mb}m,nosuid,nodev,noexec"
    text = _unit(
        "The scanner's hot folder and the appliance's spool: RAM only, so plaintext scans never reach flash.\n"
        "The scanning software's user joins the group of the same name to write here (umask 007).",
        [
            ("Unit", [("Description", "卷宗热文件夹（内存文件系统，明文扫描件不落盘）"), ("Before", EDGE_UNIT)]),
            ("Mount", [("What", "tmpfs"), ("Where", _q(where)), ("Type", "tmpfs"), ("Options", options)]),
            ("Install", [("WantedBy", "local-fs.target")]),
        ],
    )
    return RenderedFile(f"{UNIT_DIR}/{mount_unit_name(where)}", text)


def swapoff_unit() -> RenderedFile:
    text = _unit(
        "Swap stays off: the kernel could page the hot folder's tmpfs and the services' memory out to disk.\n"
        "`edge run` also refuses to start while swap is on.",
        [
            (
                "Unit",
                [
                    ("Description", "卷宗：关闭交换分区"),
                    ("DefaultDependencies", "no"),
                    ("After", "swap.target"),
                    ("Before", "sysinit.target"),
                ],
            ),
            ("Service", [("Type", "oneshot"), ("RemainAfterExit", "yes"), ("ExecStart", "/sbin/swapoff -a")]),
            ("Install", [("WantedBy", "sysinit.target")]),
        ],
    )
    return RenderedFile(f"{UNIT_DIR}/{SWAPOFF_UNIT}", text)


def media_rules_units(inp: LockdownInputs) -> list[RenderedFile]:
    """Hourly, as root: the udev rules for registered media rendered again (a registration that expired drops out)."""
    service: Lines = [
        ("Type", "oneshot"),
        ("ExecStart", f"{_q(inp.executable)} edge media rules --home {_q(inp.home)} --root / --operator system"),
        ("Environment", "PYTHONDONTWRITEBYTECODE=1"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", f"/etc/udev/rules.d {_q(inp.home)}"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateNetwork", "yes"),
        ("PrivateDevices", "yes"),
        ("NoNewPrivileges", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictAddressFamilies", "AF_UNIX"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallArchitectures", "native"),
        ("UMask", "0022"),
    ]
    unit = _unit(
        "The udev rules for removable media registered for this appliance, kept in step with their validity.",
        [("Unit", [("Description", "卷宗：按登记介质的有效期更新 udev 规则"), ("After", EDGE_UNIT)]), ("Service", service)],
    )
    timer = _unit(
        "Runs juanzong-media-rules.service hourly (and at boot if a run was missed).",
        [
            ("Unit", [("Description", "卷宗：每小时更新登记介质的 udev 规则")]),
            ("Timer", [("OnCalendar", "hourly"), ("Persistent", "true"), ("Unit", MEDIA_RULES_UNIT)]),
            ("Install", [("WantedBy", "timers.target")]),
        ],
    )
    return [RenderedFile(f"{UNIT_DIR}/{MEDIA_RULES_UNIT}", unit), RenderedFile(f"{UNIT_DIR}/{MEDIA_RULES_TIMER}", timer)]


def sysusers(inp: LockdownInputs) -> RenderedFile:
    text = (
        "# The appliance's service user: no login shell, home = the appliance home.\n"
        f'u {inp.user} - "卷宗扫描点设备" {inp.home} /usr/sbin/nologin\n'
    )
    return RenderedFile("/etc/sysusers.d/juanzong.conf", text)


def render(inp: LockdownInputs) -> list[RenderedFile]:
    files = [edge_unit(inp), ocr_unit(inp), hot_mount(inp), swapoff_unit(), *media_rules_units(inp), sysusers(inp)]
    return [f for f in files if f is not None]


def service_units(files: list[RenderedFile]) -> list[RenderedFile]:
    return [
        f
        for f in files
        if f.target.endswith(".service") and f.target.startswith(UNIT_DIR + "/juanzong-") and not f.target.endswith(ROOT_ONESHOTS)
    ]
