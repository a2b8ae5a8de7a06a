"""The item cover sheet (分隔页): the paper that tells ingest where an item starts.

The counter prints one sheet per item; the operator puts it before the item's
first page and scans it with the rest. Ingest recognises it only by our
barcode (`shared.ids.make_payload`), so the codes are deliberately large:

- a QR (ECC H, 18 px = 1.5 mm modules) — rotation-invariant and survives
  smudges (measurements §1: zxing-cpp read every 8 px QR even at 1/2 scale);
- a Code128 (6 px = 0.5 mm modules, bars 40 % of the symbol width, so it
  still reads with about ±20° of skew; measurements §1 need ≥ 25 %).

The code band (QR + Code128 + payload text) is printed twice, the second copy
rotated 180° about the page centre, so a sheet fed upside down presents the
same layout and a crease or smudge over one copy leaves the other. Codes keep
≥ 300 px from every edge, so a 7° rotated scan does not cut them off.

Codes are drawn module-exact with numpy (integer repeats, no resampling), so
every module edge is a sharp black/white step at a whole pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import segno
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from juanzong.shared.fonts import pillow_font
from juanzong.shared.ids import format_id, is_valid_id, make_payload

DPI = 300
PAGE_SIZE = (2480, 3508)  # A4 at 300 dpi
MARGIN = 300
QR_MODULE_PX = 18
CODE128_MODULE_PX = 6
CODE128_HEIGHT_RATIO = 0.40
BAND_TOP = 420
VOLUME_NAMES = {"main": "正卷", "internal": "副卷"}
INSTRUCTION = "请将本页放在该材料第一页之前一并扫描"


@dataclass(frozen=True)
class CoverSheetInfo:
    item_id: str
    intake_id: str
    case_number: str
    item_name: str
    declared_pages: int
    volume: str = "main"  # "main" → 正卷, "internal" → 副卷
    catalog_dir: str = ""  # catalog directory entry name
    item_seq: int = 1
    item_count: int = 1
    court: str = ""  # the court's name (edge init --court), printed under the title


def qr_modules(payload: str, error: str = "h") -> np.ndarray:
    """QR modules as a bool array (True = dark), no quiet zone."""
    qr = segno.make_qr(payload, error=error, boost_error=False)
    return np.array(qr.matrix, dtype=bool)


def code128_modules(payload: str) -> np.ndarray:
    """Code128 modules as a 1-D bool array (True = bar), no quiet zone."""
    symbol = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.Code128)
    row = np.array(zxingcpp.write_barcode_to_image(symbol, scale=1, add_quiet_zones=False))[0]
    return row < 128


def modules_to_image(dark: np.ndarray, module_px: int, height: int | None = None) -> Image.Image:
    """Scale modules by whole pixels; a 1-D array becomes bars `height` px tall."""
    if dark.ndim == 1:
        dark = np.repeat(dark[None, :], height or 1, axis=0)
        dark = np.repeat(dark, module_px, axis=1)
    else:
        dark = np.repeat(np.repeat(dark, module_px, axis=0), module_px, axis=1)
    return Image.fromarray(np.where(dark, 0, 255).astype(np.uint8), mode="L")


def fitted_font(text: str, size: int, max_width: int) -> ImageFont.FreeTypeFont:
    """The largest font ≤ size that fits the text in max_width."""
    while size > 36 and pillow_font(size).getlength(text) > max_width:
        size = int(size * 0.9)
    return pillow_font(size)


def wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int, max_lines: int = 2) -> list[str]:
    """Break by character (Chinese has no spaces); the last line ends in … if cut."""
    lines, current = [], ""
    for ch in text:
        if font.getlength(current + ch) > max_width:
            lines.append(current)
            current = "　" * 5 + ch  # hanging indent under the field label
        else:
            current += ch
    lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1] + "…"
    return lines


def code_band(payload: str) -> Image.Image:
    """QR on the left, Code128 on the right, the payload in text under the bars."""
    qr = modules_to_image(qr_modules(payload), QR_MODULE_PX)
    bars = code128_modules(payload)
    bar_height = int(len(bars) * CODE128_MODULE_PX * CODE128_HEIGHT_RATIO)
    c128 = modules_to_image(bars, CODE128_MODULE_PX, max(bar_height, qr.height))
    gap = 200  # ≥ 10 Code128 modules and ≥ 4 QR modules of quiet zone
    band = Image.new("L", (qr.width + gap + c128.width, qr.height + 110), 255)
    band.paste(qr, (0, 0))
    band.paste(c128, (qr.width + gap, 0))
    draw = ImageDraw.Draw(band)
    draw.text((qr.width + gap + c128.width // 2, c128.height + 20), payload, font=pillow_font(64), fill=0, anchor="mt")
    return band


def text_lines(info: CoverSheetInfo) -> list[str]:
    volume = VOLUME_NAMES.get(info.volume, info.volume)
    catalog = f"　目录项：{info.catalog_dir}" if info.catalog_dir else ""
    intake = format_id(info.intake_id) if is_valid_id(info.intake_id) else info.intake_id
    return [
        f"案号：{info.case_number}",
        f"材料名称：{info.item_name}",
        f"第 {info.item_seq} 件 / 共 {info.item_count} 件",
        f"卷别：{volume}{catalog}",
        f"申报页数：{info.declared_pages} 页",
        f"材料编号：{format_id(info.item_id)}",
        f"收件编号：{intake}",
    ]


def draw_text(page: Image.Image, info: CoverSheetInfo, top: int) -> int:
    """The fields and the boxed instruction from `top` down; returns the bottom y."""
    draw = ImageDraw.Draw(page)
    width = page.width - 2 * MARGIN
    font = pillow_font(92)
    y = top
    for field in text_lines(info):
        for line in wrap(field, font, width):
            draw.text((MARGIN, y), line, font=font, fill=0)
            y += 132
    y += 40
    small = fitted_font(INSTRUCTION, 84, width - 80)
    box = draw.textbbox((page.width // 2, y + 40), INSTRUCTION, font=small, anchor="mt")
    draw.rectangle((box[0] - 40, box[1] - 30, box[2] + 40, box[3] + 30), outline=0, width=6)
    draw.text((page.width // 2, y + 40), INSTRUCTION, font=small, fill=0, anchor="mt")
    return int(box[3]) + 30


def render_cover_sheet(info: CoverSheetInfo) -> Image.Image:
    """The sheet as a gray 2480×3508 image at 300 dpi; AppError(ID_INVALID) for a bad item id."""
    payload = make_payload(info.item_id)
    page = Image.new("L", PAGE_SIZE, 255)
    draw = ImageDraw.Draw(page)
    draw.text((page.width // 2, 180), "卷宗材料分隔页", font=pillow_font(150), fill=0, anchor="mt")
    if info.court:  # small, between the title and the code band: never near the codes' quiet zones
        draw.text((page.width // 2, 345), info.court[:40], font=pillow_font(56), fill=0, anchor="mt")
    band = code_band(payload)
    left = (page.width - band.width) // 2
    page.paste(band, (left, BAND_TOP))
    rule_y = BAND_TOP + band.height + 30
    draw.line((MARGIN, rule_y, page.width - MARGIN, rule_y), fill=0, width=5)
    bottom = draw_text(page, info, rule_y + 60)
    # point-symmetric copy: an upside-down sheet shows the same band in the same place
    low_top = page.height - BAND_TOP - band.height
    assert low_top > bottom + 40, "fields overflow into the lower code band"
    page.paste(band.rotate(180), (page.width - left - band.width, low_top))
    page.info["dpi"] = (DPI, DPI)
    return page


def save_cover_sheet(info: CoverSheetInfo, out: Path) -> Path:
    """PNG (lossless, default) or JPEG by suffix, with 300 dpi in the file."""
    out = Path(out)
    page = render_cover_sheet(info)
    suffix = out.suffix.lower()
    if suffix == ".png":
        page.save(out, "PNG", dpi=(DPI, DPI))
    elif suffix in (".jpg", ".jpeg"):
        page.save(out, "JPEG", quality=95, dpi=(DPI, DPI))
    else:
        raise ValueError(f"cover sheet must be saved as .png or .jpg, not {out.name}")
    return out
