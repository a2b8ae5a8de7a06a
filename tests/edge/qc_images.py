"""Generators of real A4 page scans (2480×3508 at 300 dpi) with and without QC defects.

Each generator returns a full-size PIL image; `save_jpeg` writes it as a real JPEG
file so the tests analyse exactly what a scanner would leave in the hot folder.
The defects are made the way scanners make them (exposure curves, a black lid
band, bleed-through from the recto, a page put in twice), not by editing QC inputs.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from juanzong.shared.fonts import find_cjk_font

A4 = (2480, 3508)
PAPER = (246, 244, 238)
INK = (28, 28, 30)
SEAL_RED = (205, 35, 45)
BODY_PX = 46
LINE_PITCH = 80
LEFT, RIGHT, TOP = 250, 250, 300

_POOL = (
    "本院认为原告被告双方当事人签订合同约定履行义务违约责任依法应予支持证据材料"
    "经审理查明事实清楚判决如下驳回诉讼请求案件受理费由负担上诉于人民法院民事"
    "裁定书起诉状答辩意见代理人委托书送达回证开庭笔录质证调解协议执行申请财产"
    "保全担保借款利息本金逾期付款买卖租赁劳动争议赔偿损失鉴定意见书证物证证人"
)


def font(size: int = BODY_PX) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(find_cjk_font()), size)


def _chars(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_POOL) for _ in range(n))


def _paragraph_lines(rng: random.Random, count: int, per_line: int) -> list[tuple[int, str]]:
    """(indent chars, text) per line; paragraphs end with a short last line like real prose."""
    out: list[tuple[int, str]] = []
    while len(out) < count:
        for i in range(rng.randint(2, 7)):
            indent = 2 if i == 0 else 0
            out.append((indent, _chars(rng, per_line - indent)))
        out.append((0, _chars(rng, rng.randint(3, per_line - 8))))
    return out[:count]


def draw_text_block(draw: ImageDraw.ImageDraw, rng: random.Random, top: int, lines: int) -> int:
    f = font()
    per_line = (A4[0] - LEFT - RIGHT) // BODY_PX
    y = top
    for indent, text in _paragraph_lines(rng, lines, per_line):
        draw.text((LEFT + indent * BODY_PX, y), text, font=f, fill=INK)
        y += LINE_PITCH
    return y


def draw_table(draw: ImageDraw.ImageDraw, rng: random.Random, top: int, rows: int = 5) -> int:
    cols = [LEFT, LEFT + 420, LEFT + 1100, A4[0] - RIGHT]
    row_h = 90
    for r in range(rows + 1):
        draw.line([(cols[0], top + r * row_h), (cols[-1], top + r * row_h)], fill=INK, width=4)
    for x in cols:
        draw.line([(x, top), (x, top + rows * row_h)], fill=INK, width=4)
    f = font(40)
    for r in range(rows):
        for c in range(len(cols) - 1):
            draw.text((cols[c] + 20, top + r * row_h + 22), _chars(rng, 5 + c), font=f, fill=INK)
    return top + rows * row_h


def draw_seal(img: Image.Image, centre: tuple[int, int], radius: int = 170) -> None:
    """A red court seal: ring, star and an arc of text, drawn semi-transparently like real ink."""
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    cx, cy = centre
    colour = SEAL_RED + (215,)
    d.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=colour, width=12)
    star = [(cx + 60 * math.cos(math.pi / 2 + k * 4 * math.pi / 5),
             cy - 60 * math.sin(math.pi / 2 + k * 4 * math.pi / 5)) for k in range(5)]
    d.polygon(star, fill=colour)
    f = font(44)
    for i, ch in enumerate("北京市某区人民法院"):
        a = math.radians(200 - i * 27.5)
        d.text((cx + 120 * math.cos(a) - 22, cy - 120 * math.sin(a) - 22), ch, font=f, fill=colour)
    img.paste(layer, (0, 0), layer)


def draw_photo(img: Image.Image, box: tuple[int, int, int, int], seed: int) -> None:
    """A photo-like area (evidence photo): smooth colour gradients with blobs and texture."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 0.5 + 0.3 * np.sin(xx / 90 + seed) * np.cos(yy / 70)
    for _ in range(6):
        bx, by, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(40, 160)
        base -= 0.35 * np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * r * r))
    base += rng.normal(0, 0.04, (h, w)).astype(np.float32)
    rgb = np.stack([base * 200 + 30, base * 170 + 40, base * 120 + 60], axis=-1)
    img.paste(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB"), (x0, y0))


def text_page(seed: int = 1, *, lines: int = 18, table: bool = True, seal: bool = True,
              photo: bool = True, title: bool = True) -> Image.Image:
    """A typical court page: title, body text, a ruled table, a red seal, an evidence photo."""
    rng = random.Random(seed)
    img = Image.new("RGB", A4, PAPER)
    draw = ImageDraw.Draw(img)
    y = TOP
    if title:
        draw.text((A4[0] // 2 - 300, y), "民事判决书", font=font(100), fill=INK)
        y += 180
    y = draw_text_block(draw, rng, y, lines) + 40
    if table:
        y = draw_table(draw, rng, y) + 60
    if photo and y + 640 < A4[1] - 200:
        draw_photo(img, (LEFT, y, LEFT + 900, y + 600), seed)
    if seal:
        draw_seal(img, (A4[0] - RIGHT - 300, A4[1] - 450))
    return img


def short_line_page() -> Image.Image:
    """Nearly empty page: one short line of text ("以下无正文"), as at the end of a judgment."""
    img = Image.new("RGB", A4, PAPER)
    ImageDraw.Draw(img).text((LEFT, 900), "以下无正文", font=font(), fill=INK)
    return img


def signature_page(seed: int = 3) -> Image.Image:
    """Nearly empty page holding only a handwritten signature in blue ballpoint."""
    rng = random.Random(seed)
    img = Image.new("RGB", A4, PAPER)
    draw = ImageDraw.Draw(img)
    x, y = 1500.0, 2900.0
    pts = []
    for i in range(140):
        x += 3.2 + rng.uniform(-1, 1)
        y = 2900 + 45 * math.sin(i / 4.0) + 25 * math.sin(i / 1.7 + seed)
        pts.append((x, y))
    draw.line(pts, fill=(35, 55, 150), width=4, joint="curve")
    draw.line([(1480, 2970), (1980, 2955)], fill=(35, 55, 150), width=3)
    return img


def blank_backside(seed: int = 5) -> Image.Image:
    """Duplex back side of a printed page: faint mirrored bleed-through, paper grain, dust specks."""
    front = text_page(seed, table=False, seal=False, photo=False).convert("L")
    ghost = front.transpose(Image.Transpose.FLIP_LEFT_RIGHT).filter(ImageFilter.GaussianBlur(3))
    g = np.asarray(ghost, dtype=np.float32)
    paper = np.full(g.shape, 240.0, dtype=np.float32) - (255 - g) * 0.12   # ≤ ~25 levels of show-through
    rng = np.random.default_rng(seed)
    for _ in range(25):   # dust: specks a few pixels wide
        y, x = rng.integers(200, A4[1] - 200), rng.integers(200, A4[0] - 200)
        paper[y:y + 3, x:x + 3] = 60
    return Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8), "L").convert("RGB")


def scan_noise(img: Image.Image, seed: int, sigma: float = 5.0) -> Image.Image:
    """Sensor noise (one Gaussian field for all channels), added in C with clipping."""
    field = np.random.default_rng(seed).standard_normal((img.height, img.width), dtype=np.float32)
    field = field * sigma + 128
    noise = Image.fromarray(np.clip(field, 0, 255).astype(np.uint8), "L")
    if img.mode == "RGB":
        noise = Image.merge("RGB", (noise, noise, noise))
    return ImageChops.add(img, noise, 1.0, -128)


def rotate(img: Image.Image, degrees: float) -> Image.Image:
    """Positive = content turned counter-clockwise (PIL convention), paper colour fills the corners."""
    fill = PAPER if img.mode == "RGB" else PAPER[0]
    return img.rotate(degrees, resample=Image.Resampling.BILINEAR, fillcolor=fill)


def shift(img: Image.Image, dx: int, dy: int) -> Image.Image:
    """The paper lying a few pixels elsewhere on the platen."""
    fill = PAPER if img.mode == "RGB" else PAPER[0]
    out = Image.new(img.mode, img.size, fill)
    out.paste(img, (dx, dy))
    return out


def tone(img: Image.Image, gain: float, offset: float) -> Image.Image:
    """Exposure curve v → gain·v + offset (underexposed: gain < 1; washed out: bright offset)."""
    lut = [max(0, min(255, round(gain * v + offset))) for v in range(256)]
    return img.point(lut * len(img.getbands()))


def underexposed(img: Image.Image) -> Image.Image:
    return tone(img, 0.3, 0)                # paper ≈ 73, text ≈ 8


def washed_out(img: Image.Image) -> Image.Image:
    return tone(img, 0.35, 175)             # paper clips to 255, text ≈ 185


def lid_open(img: Image.Image, top: int = 140, right: int = 110) -> Image.Image:
    """Scanner lid left open: black bands beyond the paper at the top and right edges."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    draw.rectangle([0, 0, A4[0], top], fill=(12, 12, 14))
    draw.rectangle([A4[0] - right, 0, A4[0], A4[1]], fill=(12, 12, 14))
    return out


def edge_rule_page(seed: int = 7) -> Image.Image:
    """Clean page whose letterhead rule runs to the very edge (4 px at the top) – not a border."""
    out = text_page(seed)
    draw = ImageDraw.Draw(out)
    draw.rectangle([0, 0, A4[0], 3], fill=INK)
    draw.line([(0, 260), (A4[0], 260)], fill=SEAL_RED, width=6)
    return out


def save_jpeg(img: Image.Image, path: Path, *, dpi: tuple[int, int] | None = (300, 300),
              quality: int = 85, mode: str | None = None) -> Path:
    if mode is not None:
        img = img.convert(mode)
    kwargs: dict = {"quality": quality}
    if dpi is not None:
        kwargs["dpi"] = dpi
    img.save(path, "JPEG", **kwargs)
    return path
