"""udev rules: USB mass storage (and USB network adapters) refused; scanner and printer admitted.

Refusing works per USB *interface*: writing 0 to an interface's `authorized` attribute
unbinds and keeps away its driver (`usb-storage`, `uas`), so a stick, a phone in
mass-storage mode or a disk enclosure never becomes a block device the system could
mount. Network-class interfaces (CDC ethernet, RNDIS, wireless) are refused too: a phone
tethered over USB must not become a route around the firewall. Scanners (still-image
class 06 or vendor-specific ff), printers (class 07) and keyboards/barcode wedges (HID, 03)
are left alone; the configured printer's device node is given to the service user's group.

Registered media (a later feature: a court-issued, registered encrypted disk for offline
hand-over) are admitted by `69-juanzong-registered-media.rules`, read first: a rule there
sets `ENV{JUANZONG_MEDIA}="registered"` for a device it recognises by vendor, product and
serial, and the refusing rule below skips interfaces carrying that mark.
"""

from __future__ import annotations

from juanzong.edge.lockdown.inputs import LockdownInputs, PrinterTransport
from juanzong.edge.lockdown.systemd import RenderedFile

RULES_DIR = "/etc/udev/rules.d"
REFUSE_RULES = "70-juanzong-usb.rules"
MEDIA_RULES = "69-juanzong-registered-media.rules"
# USB interface classes refused (bInterfaceClass, hex as sysfs prints it)
REFUSED_CLASSES = {
    "08": "mass storage (U 盘、移动硬盘、读卡器、手机大容量存储模式)",
    "02": "communications (CDC ethernet / modem: USB 网卡、手机共享网络)",
    "0a": "CDC data",
    "e0": "wireless controller (RNDIS, Bluetooth)",
}
ALLOWED_CLASSES = {"03": "HID (键盘、扫码枪)", "06": "still image (扫描仪、高拍仪)", "07": "printer (打印机)",
                   "09": "hub", "0e": "video (高拍仪)", "ff": "vendor specific (多数扫描仪与热敏打印机)"}


def _refuse(cls: str, what: str) -> str:
    return (
        f"# {what}\n"
        'ACTION=="add", SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_interface", '
        f'ATTR{{bInterfaceClass}}=="{cls}", ENV{{JUANZONG_MEDIA}}!="registered", '
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
        return (f"# the receipt printer ({inp.printer_profile}) on a serial port\n"
                f'ACTION=="add", KERNEL=="{name}", GROUP="{inp.user}", MODE="0660"\n')
    return ""


def render_refuse(inp: LockdownInputs) -> RenderedFile:
    allowed = "".join(f"#   {c}  {w}\n" for c, w in ALLOWED_CLASSES.items())
    text = (
        "# 卷宗 appliance: no USB storage. Rendered by `juanzong edge lockdown`.\n"
        "# Left alone (scanner, printer, keyboard classes):\n" + allowed + "\n"
        + "".join(_refuse(c, w) for c, w in REFUSED_CLASSES.items())
        + "\n" + _printer_rule(inp)
    )
    return RenderedFile(f"{RULES_DIR}/{REFUSE_RULES}", text)


def render_media_hook() -> RenderedFile:
    text = (
        "# Registered media admitted past 70-juanzong-usb.rules (none yet).\n"
        "# One line per registered device, written by the media-registration command, e.g.:\n"
        '#   SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_interface", ATTRS{idVendor}=="0781", '
        'ATTRS{idProduct}=="5581", ATTRS{serial}=="4C530001", ENV{JUANZONG_MEDIA}="registered"\n'
    )
    return RenderedFile(f"{RULES_DIR}/{MEDIA_RULES}", text)


def render(inp: LockdownInputs) -> list[RenderedFile]:
    return [render_media_hook(), render_refuse(inp)]
