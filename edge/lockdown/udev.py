"""udev rules: USB mass storage (and USB network adapters) refused; scanner and printer admitted.

Refusing works per USB *interface*: writing 0 to an interface's `authorized` attribute
unbinds and keeps away its driver (`usb-storage`, `uas`), so a stick, a phone in
mass-storage mode or a disk enclosure never becomes a block device the system could
mount. Network-class interfaces (CDC ethernet, RNDIS, wireless) are refused too: a phone
tethered over USB must not become a route around the firewall. Scanners (still-image
class 06 or vendor-specific ff), printers (class 07) and keyboards/barcode wedges (HID, 03)
are left alone; the configured printer's device node is given to the service user's group.

Registered media (court-issued, registered for this appliance by central, prepared with
`edge media init`, which records the medium's filesystem UUID) are admitted by
`69-juanzong-registered-media.rules`, read first and rendered from the appliance's media
table (`media_rules.py` re-renders it on `edge media init` and, through an hourly timer,
when a registration expires). A filesystem UUID only exists once the kernel has a block
device to read it from, so admission takes two steps that keep the refusal above intact:

1. with at least one valid registered medium, a mass-storage interface is marked
   `JUANZONG_MEDIA=check` and left authorised, so the block layer can read the filesystem;
   with none, no interface is marked and every stick is refused at the interface as before;
2. a USB block device whose `ID_FS_UUID` is a registered one is marked `registered`; every
   other USB block device carrying a filesystem (or neither a filesystem nor a partition
   table) is refused by the last rule of 70: its USB interface is de-authorised, which
   removes the block device, and it is hidden from desktop automounters meanwhile.

While the root-only flag `/run/juanzong/media-prepare` exists (the administrator's
preparation window for a new medium), any medium passes so `edge media init` can record
its UUID; `edge media init` on the appliance removes the flag again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from juanzong.edge.lockdown.inputs import AdmittedMedium, LockdownInputs, PrinterTransport
from juanzong.edge.lockdown.systemd import RenderedFile

RULES_DIR = "/etc/udev/rules.d"
REFUSE_RULES = "70-juanzong-usb.rules"
MEDIA_RULES = "69-juanzong-registered-media.rules"
MEDIA_RULES_TARGET = f"{RULES_DIR}/{MEDIA_RULES}"
PREPARE_FLAG = "/run/juanzong/media-prepare"
# marks 69 sets and 70 honours (ENV{JUANZONG_MEDIA})
MARK_CHECK, MARK_REGISTERED, MARK_PREPARE = "check", "registered", "prepare"
# what blkid reports as ID_FS_UUID (vfat 1234-ABCD, ext4/btrfs 8-4-4-4-12, ntfs 16 hex): nothing a rule could misread
FS_UUID_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{3,63}$")
# USB interface classes refused (bInterfaceClass, hex as sysfs prints it)
REFUSED_CLASSES = {
    "08": "mass storage (U 盘、移动硬盘、读卡器、手机大容量存储模式)",
    "02": "communications (CDC ethernet / modem: USB 网卡、手机共享网络)",
    "0a": "CDC data",
    "e0": "wireless controller (RNDIS, Bluetooth)",
}
ALLOWED_CLASSES = {
    "03": "HID (键盘、扫码枪)",
    "06": "still image (扫描仪、高拍仪)",
    "07": "printer (打印机)",
    "09": "hub",
    "0e": "video (高拍仪)",
    "ff": "vendor specific (多数扫描仪与热敏打印机)",
}


def _refuse(cls: str, what: str) -> str:
    return (
        f"# {what}\n"
        'ACTION=="add", SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_interface", '
        f'ATTR{{bInterfaceClass}}=="{cls}", ENV{{JUANZONG_MEDIA}}!="{MARK_CHECK}|{MARK_PREPARE}", '
        'ATTR{authorized}="0", '
        f'RUN+="/usr/bin/logger -t juanzong-usb -p auth.warning refused USB interface %k class {cls}"\n'
    )


def _printer_rule(inp: LockdownInputs) -> str:
    printer = inp.printer
    if printer.transport is PrinterTransport.USB and printer.usb_id is not None:
        vendor, product = printer.usb_id
        return (
            f"# the receipt printer ({inp.printer_profile}): its device node belongs to the service user's group\n"
            'ACTION=="add", SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", '
            f'ATTR{{idVendor}}=="{vendor:04x}", ATTR{{idProduct}}=="{product:04x}", GROUP="{inp.user}", MODE="0660"\n'
        )
    if printer.transport is PrinterTransport.SERIAL:
        name = printer.serial_device.removeprefix("/dev/")
        return (
            f"# the receipt printer ({inp.printer_profile}) on a serial port\n"
            f'ACTION=="add", KERNEL=="{name}", GROUP="{inp.user}", MODE="0660"\n'
        )
    return ""


# A USB block device not admitted by 69: its nearest USB interface is de-authorised (the block
# device goes away). `$$`/`%%` are udev's escapes for the shell's `$` and `%`.
_DEAUTHORISE = (
    "/bin/sh -c 'd=/sys$env{DEVPATH}; while [ $${#d} -gt 5 ]; do "
    "if [ -f $$d/bInterfaceClass ]; then echo 0 > $$d/authorized; exit 0; fi; d=$${d%%/*}; done'"
)


def _refuse_block() -> str:
    return (
        "# a USB block device 69 did not admit: a filesystem whose UUID is not registered, or a device with\n"
        "# neither filesystem nor partition table (a disk with partitions is judged by its partitions)\n"
        'ACTION=="add", SUBSYSTEM=="block", ENV{ID_BUS}=="usb", '
        f'ENV{{JUANZONG_MEDIA}}!="{MARK_REGISTERED}|{MARK_PREPARE}", ENV{{ID_PART_TABLE_TYPE}}!="?*", '
        'ENV{UDISKS_IGNORE}="1", ENV{SYSTEMD_READY}="0", '
        f'RUN+="{_DEAUTHORISE}", '
        'RUN+="/usr/bin/logger -t juanzong-usb -p auth.warning refused unregistered medium %k uuid $env{ID_FS_UUID}"\n'
    )


def render_refuse(inp: LockdownInputs) -> RenderedFile:
    allowed = "".join(f"#   {c}  {w}\n" for c, w in ALLOWED_CLASSES.items())
    text = (
        "# 卷宗 appliance: no USB storage. Rendered by `juanzong edge lockdown`.\n"
        "# Left alone (scanner, printer, keyboard classes):\n"
        + allowed
        + "\n"
        + "".join(_refuse(c, w) for c, w in REFUSED_CLASSES.items())
        + "\n"
        + _refuse_block()
        + "\n"
        + _printer_rule(inp)
    )
    return RenderedFile(f"{RULES_DIR}/{REFUSE_RULES}", text)


def _admit(medium: AdmittedMedium) -> str:
    if not FS_UUID_RE.fullmatch(medium.fs_uuid):  # never let a stored value shape a rule
        return f"# {medium.medium_id}: filesystem identifier not usable in a rule, not admitted\n"
    return (
        f"# {medium.medium_id}, registration valid until {medium.valid_until}\n"
        f'ACTION=="add", SUBSYSTEM=="block", ENV{{ID_BUS}}=="usb", ENV{{ID_FS_UUID}}=="{medium.fs_uuid}", '
        f'ENV{{JUANZONG_MEDIA}}="{MARK_REGISTERED}", ENV{{JUANZONG_MEDIUM}}="{medium.medium_id}"\n'
    )


def _prepare_window() -> str:
    return (
        f"# preparation window: while {PREPARE_FLAG} exists (root only), any medium passes so that\n"
        "# `edge media init` can record its filesystem UUID; `edge media init` removes the flag\n"
        'ACTION=="add", SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_interface", ATTR{bInterfaceClass}=="08", '
        f'TEST=="{PREPARE_FLAG}", ENV{{JUANZONG_MEDIA}}="{MARK_PREPARE}"\n'
        f'ACTION=="add", SUBSYSTEM=="block", ENV{{ID_BUS}}=="usb", TEST=="{PREPARE_FLAG}", '
        f'ENV{{JUANZONG_MEDIA}}="{MARK_PREPARE}"\n'
    )


def media_rules_text(appliance_id: str, media: Sequence[AdmittedMedium]) -> str:
    """69: the registered media by filesystem UUID; nothing time-dependent, so a re-render that changes
    nothing writes nothing."""
    head = (
        f"# 卷宗 appliance {appliance_id}: removable media registered for it and still valid.\n"
        "# Rendered by `juanzong edge lockdown`, `edge media init` and `edge media rules` (hourly timer);\n"
        "# rendered again, not edited. Read before 70-juanzong-usb.rules, which refuses what is not marked here.\n\n"
        + _prepare_window()
        + "\n"
    )
    if not media:
        return head + "# no registered medium: every mass-storage interface stays refused at the USB level\n"
    check = (
        "# registered media exist: mass-storage interfaces stay authorised until their filesystem is known\n"
        'ACTION=="add", SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_interface", ATTR{bInterfaceClass}=="08", '
        f'ENV{{JUANZONG_MEDIA}}!="{MARK_PREPARE}", ENV{{JUANZONG_MEDIA}}="{MARK_CHECK}"\n\n'
    )
    return head + check + "".join(_admit(m) for m in sorted(media, key=lambda m: m.medium_id))


def render_media(inp: LockdownInputs) -> RenderedFile:
    return RenderedFile(MEDIA_RULES_TARGET, media_rules_text(inp.appliance_id, inp.media))


def render(inp: LockdownInputs) -> list[RenderedFile]:
    return [render_media(inp), render_refuse(inp)]
