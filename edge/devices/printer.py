"""The receipt printer, fenced off: render (pure) → send (transport) → probe (health page).

`render_receipt` turns a `Receipt` into real ESC/POS bytes through python-escpos's
`Dummy` printer, so the bytes can be golden-tested, queued and replayed; `send`
is the only code that touches a device; `probe` answers "is it there?" for the
kiosk health page without printing anything.

Chinese text is rasterised with Pillow by default (WenQuanYi Micro Hei, 1-bit,
never wider than the profile's `width_dots`, printed with `GS v 0`): it works on
every ESC/POS printer, with or without a Chinese font. Only a profile with
`chinese = "gb18030"` (printer boots in Chinese mode with a resident font) gets
text mode; then we send `FS &` and the GB18030 bytes ourselves, because
python-escpos's MagicEncode only switches to GB18030 when a string holds a
character in U+4E00–U+9FA5 and prints `?` for e.g. （２０２６） (measurements §4).

python-escpos 3.1 has three import/call side effects neutralised here (§4):
`import escpos` adds a stderr handler to the root logger, `barcode()` (and
`image()` on a profile without a known width) print to stdout, and
`capabilities.py` creates a fresh temp dir with `mkdtemp()` on every import.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

from juanzong.edge.devices.profiles import PrinterProfile
from juanzong.edge.netpolicy import LOOPBACK, Network, resolve_allowed
from juanzong.shared.durable import append_durable
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.fonts import find_cjk_font, pillow_font
from juanzong.shared.ids import format_id, make_payload

log = logging.getLogger(__name__)

ESC_INIT = b"\x1b@"
FS_KANJI_ON = b"\x1c&"  # FS &: enter Chinese (Kanji) character mode
FS_KANJI_SIZE = b"\x1c!"  # FS ! n: Kanji print mode (0x0C = double width + height)
COURT_TZ = ZoneInfo("Asia/Shanghai")  # the zone shared.workdays computes deadlines in
_ESCPOS_LOCK = threading.Lock()


# --------------------------------------------------------------------------- python-escpos, tamed


def _escpos_cache_dir() -> Path:
    """A fixed, private dir for python-escpos's capabilities pickle.

    Private matters: the pickle is loaded with `pickle.load`, so a dir another
    user can write to would be a code-execution hole.
    """
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cache = base / "juanzong" / "escpos"
    try:
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cache
    except OSError:
        cache = Path(tempfile.gettempdir()) / f"juanzong-escpos-{os.getuid()}"
        cache.mkdir(exist_ok=True, mode=0o700)
        st = cache.lstat()
        if st.st_uid != os.getuid() or not cache.is_dir() or cache.is_symlink():
            raise RuntimeError(f"escpos cache {cache} is not ours") from None
        return cache


@contextlib.contextmanager
def _root_handlers_kept() -> Iterator[None]:
    """Undo any handler python-escpos adds to the root logger (basicConfig, logging.info)."""
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)


def _import_escpos() -> Any:
    cache = _escpos_cache_dir()
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(cache))
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp_not_for_escpos(*args: Any, **kwargs: Any) -> str:
        # capabilities.py evaluates mkdtemp() as a default even when the env var
        # is set; hand it the cache dir instead of leaving an empty tmpXXXX behind
        if sys._getframe(1).f_globals.get("__name__") == "escpos.capabilities":
            return str(cache)
        return real_mkdtemp(*args, **kwargs)

    with _ESCPOS_LOCK, _root_handlers_kept():
        tempfile.mkdtemp = mkdtemp_not_for_escpos  # type: ignore[assignment]  # only while escpos imports
        try:
            import escpos.printer
            from escpos import constants
        finally:
            tempfile.mkdtemp = real_mkdtemp
    return escpos.printer, constants


_escpos, _constants = _import_escpos()


@contextlib.contextmanager
def _quiet_escpos() -> Iterator[None]:
    """Serialise python-escpos calls and keep their stdout chatter off our stdout.

    stdout is process-wide, so anything another thread prints meanwhile lands in
    the sink too; it is logged at debug level rather than lost.
    """
    sink = io.StringIO()
    with _ESCPOS_LOCK, _root_handlers_kept(), contextlib.redirect_stdout(sink):
        yield
    if sink.getvalue().strip():
        log.debug("python-escpos said: %s", sink.getvalue().strip())


# --------------------------------------------------------------------------- the receipt


@dataclass(frozen=True)
class ReceiptLine:
    """One material: `pages` is per copy, so it contributes pages × copies sheets."""

    name: str
    pages: int
    copies: int = 1
    original: bool = True


@dataclass(frozen=True)
class Receipt:
    intake_id: str
    case_number: str
    submitter: str
    received_at: datetime
    deadline: datetime
    items: tuple[ReceiptLine, ...]
    court: str = ""
    clerk: str = ""
    urgent: bool = False
    deadline_provisional: bool = False  # from a year whose holiday arrangement is not yet imported


@dataclass(frozen=True)
class TextLine:
    text: str
    style: str = "body"  # "title" | "strong" | "body" | "rule"


@dataclass(frozen=True)
class PrintDocument:
    """What any slip is: text lines, our QR payload, and an optional picture after the
    lines (a signature drawn on the touch screen, PNG). Receipts, cover labels and
    service receipts are all made of this, so one renderer serves them and a stored copy
    re-renders exactly; `reprint` puts 补打 at the top."""

    lines: tuple[TextLine, ...]
    payload: str
    picture: bytes | None = None
    reprint: bool = False


def _minute(moment: datetime) -> str:
    # people read court wall-clock time; an aware time in another zone (UTC from a
    # database) is converted, a naive one is already local (shared.workdays' rule)
    if moment.tzinfo is not None:
        moment = moment.astimezone(COURT_TZ)
    return moment.strftime("%Y-%m-%d %H:%M")


def receipt_text(receipt: Receipt) -> tuple[TextLine, ...]:
    """The receipt's words, in print order (pure; shared by raster and text mode)."""
    rule = TextLine("", "rule")
    head = [TextLine("诉讼材料收取回执", "title")]
    head += [TextLine("加急", "title")] if receipt.urgent else []
    head += [TextLine(receipt.court)] if receipt.court else []
    head += [
        rule,
        TextLine(f"案号：{receipt.case_number}", "strong"),
        TextLine(f"收取编号：{format_id(receipt.intake_id)}"),
        TextLine(f"提交人：{receipt.submitter}"),
        TextLine(f"收件时间：{_minute(receipt.received_at)}"),
        rule,
    ]
    items: list[TextLine] = []
    for n, item in enumerate(receipt.items, 1):
        kind = "原件" if item.original else "复印件"
        items += [TextLine(f"{n}. {item.name}"), TextLine(f"    份数 {item.copies}　页数 {item.pages}　{kind}")]
    total = sum(item.pages * item.copies for item in receipt.items)
    deadline = (
        f"办理时限：{_minute(receipt.deadline)}"
        + ("（暂定）" if receipt.deadline_provisional else "")
        + ("（加急）" if receipt.urgent else "")
    )
    tail = [
        rule,
        TextLine(f"材料 {len(receipt.items)} 项，合计页数：{total}", "strong"),
        TextLine(deadline, "strong"),
        TextLine(f"经办人：{receipt.clerk}"),
        TextLine("提交人签名："),
        TextLine(""),
        TextLine("", "rule"),
        TextLine("凭本回执查询办理进度，请妥善保管。"),
    ]
    return tuple(head + items + tail)


def _printable(text: str) -> str:
    # U+00A5 is a 4-byte GB18030 sequence that prints as "0 6"; the full-width
    # yen sign is the two-byte A3 A4 every Chinese font has
    return text.replace("\u00a5", "\uffe5")


# --------------------------------------------------------------------------- raster text


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy wrap by rendered width; Chinese has no spaces to break at."""
    rows, row = [], ""
    for ch in text:
        if row and font.getlength(row + ch) > width:
            rows.append(row)
            row = "    " if text.startswith("    ") else ""
        row += ch
    return rows + [row]


def raster_text(lines: Sequence[TextLine], width: int, font_px: int) -> Image.Image:
    """Lines as one 1-bit image exactly `width` dots wide (black ink = 0)."""
    path, margin = find_cjk_font(), 4
    body = pillow_font(font_px, basic_layout=False, path=path)
    title = pillow_font(round(font_px * 1.5), basic_layout=False, path=path)
    rows: list[tuple[str, TextLine, ImageFont.FreeTypeFont]] = []
    for line in lines:
        font = title if line.style == "title" else body
        rows += [(seg, line, font) for seg in _wrap(_printable(line.text), font, width - 2 * margin - 2)]
    heights = [font_px // 2 if line.style == "rule" else round(font.size * 1.4) for _, line, font in rows]
    image = Image.new("1", (width, sum(heights) + margin), 1)
    draw, y = ImageDraw.Draw(image), 0
    for (seg, line, font), h in zip(rows, heights):
        if line.style == "rule":
            draw.line((margin, y + h // 2, width - margin, y + h // 2), fill=0, width=1)
        else:
            x = (width - font.getlength(seg)) / 2 if line.style == "title" else margin
            stroke = 1 if line.style in ("title", "strong") else 0
            draw.text((x, y + h * 0.1), seg, font=font, fill=0, stroke_width=stroke, stroke_fill=0)
        y += h
    return image


# --------------------------------------------------------------------------- ESC/POS rendering


def _dummy(printer: PrinterProfile) -> Any:
    """A python-escpos Dummy for the profile, refusing profiles that would silently degrade."""
    try:
        esc = _escpos.Dummy(profile=printer.escpos_profile)
    except KeyError:
        raise AppError(
            ErrorCode.PROFILE_INVALID,
            path=str(printer.path),
            field="escpos_profile",
            detail=f"escpos_profile“{printer.escpos_profile}”不是 python-escpos 的打印机型号",
        ) from None
    # without barcodeB python-escpos falls back to a software barcode image, and
    # a narrower media width than ours makes image() refuse the raster
    missing = [f for f in ("barcodeB", "qrCode", "bitImageRaster") if not esc.profile.supports(f)]
    pixels = esc.profile.profile_data.get("media", {}).get("width", {}).get("pixels")
    if missing or (isinstance(pixels, int) and pixels < printer.width_dots):
        raise AppError(
            ErrorCode.PROFILE_INVALID,
            path=str(printer.path),
            field="escpos_profile",
            detail=f"escpos_profile“{printer.escpos_profile}”不支持 {missing or ['width_dots']}",
        )
    return esc


def _gbk_only(text: str) -> bool:
    # a resident Chinese font covers GBK (two bytes); four-byte GB18030 does not print
    return all(len(ch.encode("gb18030")) <= 2 for ch in text)


def _text_mode_lines(esc: Any, lines: Sequence[TextLine], printer: PrinterProfile) -> None:
    columns = printer.width_dots // 12  # font A is 12 dots wide
    for line in lines:
        text = _printable(line.text)
        if line.style == "rule":
            esc._raw(b"-" * columns + b"\n")
        elif not _gbk_only(text):
            esc.image(raster_text([line], printer.width_dots, printer.font_px))
        elif line.style == "title":
            esc.set(align="center", bold=True, double_width=True, double_height=True)
            esc._raw(FS_KANJI_SIZE + b"\x0c" + text.encode("gb18030") + b"\n" + FS_KANJI_SIZE + b"\x00")
            esc.set_with_default()
        elif line.style == "strong":
            esc.set(bold=True)
            esc._raw(text.encode("gb18030") + b"\n")
            esc.set(bold=False)
        else:
            esc._raw(text.encode("gb18030") + b"\n")


def _code128_module(payload: str, width_dots: int) -> int:
    # start + data + check + stop (13) modules, plus a 10-module quiet zone each side
    modules = 11 * (len(payload) + 2) + 13 + 20
    return max((w for w in range(2, 7) if modules * w <= width_dots), default=2)


def qr_raster(payload: str, width_dots: int) -> Image.Image:
    """Our QR as a 1-bit image, module-exact (whole dots per module, 4-module quiet zone),
    half the paper wide: printed as raster it works on printers without native QR and
    can be read back from the bytes."""
    import segno

    matrix = segno.make_qr(payload, error="m", boost_error=False).matrix
    modules = len(matrix) + 8
    scale = max(2, (width_dots // 2) // modules)
    image = Image.new("1", (width_dots, modules * scale), 1)
    left = (width_dots - modules * scale) // 2 + 4 * scale
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = left + x * scale, (y + 4) * scale
                draw.rectangle((x0, y0, x0 + scale - 1, y0 + scale - 1), fill=0)
    return image


def _picture(png: bytes, width_dots: int) -> Image.Image:
    """A signature (PNG, ink on transparent or white) as 1-bit, at most the paper wide."""
    with Image.open(io.BytesIO(png)) as im:
        im.load()
        rgba = im.convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    grey = flat.convert("L")
    grey.thumbnail((width_dots - 8, max(1, width_dots // 2)))
    canvas = Image.new("L", (width_dots, grey.height + 8), 255)
    canvas.paste(grey, ((width_dots - grey.width) // 2, 4))
    return canvas.point(lambda v: 0 if v < 160 else 255).convert("1")


def _codes(esc: Any, payload: str, printer: PrinterProfile) -> None:
    esc.image(qr_raster(payload, printer.width_dots))
    esc.set(align="center")
    esc._raw(b"\n")
    esc.barcode("{B" + payload, "CODE128", height=72, width=_code128_module(payload, printer.width_dots), pos="BELOW", function_type="B")
    esc._raw(b"\n\n")


def render_document(doc: PrintDocument, printer: PrinterProfile) -> bytes:
    """Any slip as ESC/POS bytes for this printer model (no device is touched)."""
    lines = ((TextLine("补打", "title"),) if doc.reprint else ()) + doc.lines
    with _quiet_escpos():
        esc = _dummy(printer)
        esc._raw(ESC_INIT)
        if printer.chinese == "gb18030":
            esc._raw(FS_KANJI_ON)
            _text_mode_lines(esc, lines, printer)
        else:
            esc.image(raster_text(lines, printer.width_dots, printer.font_px))
        if doc.picture:
            esc.image(_picture(doc.picture, printer.width_dots))
        _codes(esc, doc.payload, printer)
        esc.cut()
        return esc.output


def render_receipt(receipt: Receipt, printer: PrinterProfile, reprint: bool = False) -> bytes:
    """The receipt as ESC/POS bytes for this printer model (no device is touched)."""
    return render_document(PrintDocument(receipt_text(receipt), make_payload(receipt.intake_id), reprint=reprint), printer)


# --------------------------------------------------------------------------- transport


def _append_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    append_durable(path, data)


_EXTRAS = {"usb": ("Usb", "pyusb（python-escpos[usb]）"), "serial": ("Serial", "pyserial（python-escpos[serial]）")}


def _device(printer: PrinterProfile, address: str = "") -> Any:
    if printer.transport in _EXTRAS:
        cls, package = _EXTRAS[printer.transport]
        # checked first: an Usb/Serial object without its library raises again from __del__
        if not getattr(_escpos, cls).is_usable():
            raise RuntimeError(f"未安装 {package}")
    if printer.transport == "network":
        return _escpos.Network(address or printer.host, printer.port, timeout=printer.timeout_seconds, profile=printer.escpos_profile)
    if printer.transport == "usb":
        return _escpos.Usb(printer.usb_vendor_id, printer.usb_product_id, profile=printer.escpos_profile)
    return _escpos.Serial(printer.serial_device, baudrate=printer.baudrate, profile=printer.escpos_profile)


def allowed_address(printer: PrinterProfile, networks: Sequence[Network] = LOOPBACK) -> str:
    """A network printer obeys sync's egress policy: its host must resolve inside the court's ranges,
    and the connection goes to the checked address (PRINTER_TARGET_FORBIDDEN otherwise)."""
    try:
        return resolve_allowed(printer.host, printer.port, networks)
    except AppError as err:
        if err.code is ErrorCode.SYNC_TARGET_FORBIDDEN:
            raise AppError(
                ErrorCode.PRINTER_TARGET_FORBIDDEN, printer=printer.name, host=printer.host, address=err.params.get("address", "")
            ) from err
        raise AppError(ErrorCode.PRINTER_OFFLINE, printer=printer.name, detail=err.message) from err


def send(data: bytes, printer: PrinterProfile, home: Path, networks: Sequence[Network] = LOOPBACK) -> None:
    """Deliver rendered bytes; AppError(PRINTER_OFFLINE) on any failure (the caller queues),
    PRINTER_TARGET_FORBIDDEN for a network printer outside `networks` (nothing is sent)."""
    address = allowed_address(printer, networks) if printer.transport == "network" else ""
    try:
        if printer.transport == "file":
            _append_durably(printer.file_output(home), data)
            return
        with _root_handlers_kept():
            device = _device(printer, address)
            try:
                device.open()
                device._raw(data)
            finally:
                with contextlib.suppress(Exception):
                    device.close()
    except Exception as err:  # noqa: BLE001 - every device failure means "offline, queue it"
        log.info("printer %s offline: %s", printer.name, err)
        raise AppError(ErrorCode.PRINTER_OFFLINE, printer=printer.name, detail=str(err)) from err


# --------------------------------------------------------------------------- probe


def _probe_file(printer: PrinterProfile, home: Path) -> tuple[bool, str]:
    target = printer.file_output(home)
    parent = next((p for p in [target, *target.parents] if p.exists()), Path("/"))
    ok = os.access(parent, os.W_OK)
    return ok, f"输出文件 {target}" + ("" if ok else "（目录不可写）")


def _probe_network(printer: PrinterProfile, networks: Sequence[Network]) -> tuple[bool, str]:
    try:
        address = allowed_address(printer, networks)
    except AppError as err:
        return False, err.message
    try:
        with socket.create_connection((address, printer.port), timeout=printer.timeout_seconds):
            return True, f"{printer.target} 可以连接"
    except OSError as err:
        return False, f"{printer.target} 无法连接（{err.strerror or err}）"


def _probe_usb(printer: PrinterProfile) -> tuple[bool, str]:
    try:
        import usb.core
    except ImportError:
        return False, "未安装 pyusb（python-escpos[usb]），无法使用 USB 打印机"
    try:
        found = usb.core.find(idVendor=printer.usb_vendor_id, idProduct=printer.usb_product_id)
    except Exception as err:  # noqa: BLE001 - e.g. NoBackendError without libusb
        return False, f"USB 无法访问（{err}）"
    return found is not None, f"{printer.target} " + ("已连接" if found is not None else "未找到")


def _probe_serial(printer: PrinterProfile) -> tuple[bool, str]:
    ok = os.access(printer.serial_device, os.R_OK | os.W_OK)
    return ok, f"串口 {printer.serial_device} " + ("可用" if ok else "不存在或无权限")


def probe(printer: PrinterProfile, home: Path, networks: Sequence[Network] = LOOPBACK) -> dict[str, Any]:
    """Health-page status: can we reach the printer and render for it? Prints nothing."""
    if printer.transport == "file":
        ok, detail = _probe_file(printer, Path(home))
    elif printer.transport == "network":
        ok, detail = _probe_network(printer, networks)
    elif printer.transport == "usb":
        ok, detail = _probe_usb(printer)
    else:
        ok, detail = _probe_serial(printer)
    if ok and printer.chinese == "raster":
        try:
            find_cjk_font()
        except AppError as err:
            ok, detail = False, err.message
    return {"name": printer.name, "transport": printer.transport, "ok": ok, "detail": detail}
