"""The one page generator: synthetic scanned pages for the simulator, the benchmarks and the tests.

Every page is A4 at 300 dpi (2480×3508) unless a size is asked for, and a pure
function of its seed (`random.Random(seed)` for layout, a numpy generator seeded
from it for noise), so a failing test names a page anyone can regenerate.

- Scanner pages (`text_page`, `photo_page`, `waybill_page`, `invoice_page`,
  `blank_backside`, `barcode_page`, `court_page` with its known text) are rendered in
  gray as an ink mask subtracted from a noisy paper and tinted only at the end: that
  keeps a page around 100 ms, because full-page RGB arithmetic is what costs.
  `degrade` gives one with a scan defect. The simulated scanner (`edge.tooling.scanner`),
  `juanzong bench …` and `juanzong demo` draw from here.
- QC pages (`judgment_page`, `short_line_page`, `signature_page`, `bleed_backside`,
  `edge_rule_page`) and the defects scanners make (`scan_noise`, `rotate`, `shift`,
  `tone`, `underexposed`, `washed_out`, `lid_open`): the QC thresholds in
  `edge/ingest/qc.py` are tuned on them, so they stay exactly as they are drawn.
- Plain pages of any size (`plain_page`, `bilevel_page`): the format corpus and the
  memory probe, where only pixels, not their look, matter.

The foreign-barcode pages (waybill, invoice) exist because real evidence is
full of barcodes that must never be mistaken for our cover sheets. This module is
tooling around the appliance; the appliance never imports it.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from juanzong.edge.coversheet import DPI, PAGE_SIZE, code128_modules, modules_to_image, qr_modules
from juanzong.shared.fonts import pillow_font

W, H = PAGE_SIZE
WHITE = 255
PAPER_TINTS = ((255, 251, 240), (252, 250, 244), (250, 246, 236), (255, 253, 248))
TITLES = ("民事起诉状", "民事答辩状", "证据清单", "授权委托书", "民事判决书", "调解协议", "情况说明", "上诉状")
PHRASES = (
    "原告与被告之间的买卖合同关系依法成立",
    "双方均应按照约定全面履行各自的义务",
    "被告未按期支付货款",
    "经原告多次催告仍拒不履行",
    "根据《中华人民共和国民法典》第五百七十七条之规定",
    "本院依法适用普通程序",
    "公开开庭进行了审理",
    "原告的委托诉讼代理人到庭参加诉讼",
    "被告经本院合法传唤无正当理由拒不到庭",
    "现已审理终结",
    "请求判令被告支付货款人民币壹拾贰万元整",
    "并承担本案全部诉讼费用",
    "事实与理由如下",
    "二〇二四年三月十五日",
    "双方签订《设备采购合同》一份",
    "约定交货后三十日内付清全部款项",
    "原告已于当月交付全部设备",
    "被告出具收货确认单予以确认",
    "截至起诉之日尚欠货款及利息",
    "上述事实有合同、送货单及银行转账记录为证",
    "被告的行为已构成违约",
    "应当承担继续履行及赔偿损失的责任",
    "为维护原告的合法权益",
    "特向贵院提起诉讼",
    "望判如所请",
    "本院认为",
    "当事人对自己提出的主张",
    "有责任提供证据",
    "对方当事人对此不予认可",
    "且未提交相反证据予以反驳",
    "本院对该证据的真实性予以确认",
    "依照《中华人民共和国民事诉讼法》第六十七条",
    "判决如下",
    "如不服本判决",
    "可在判决书送达之日起十五日内",
    "向本院递交上诉状",
    "并按对方当事人的人数提出副本",
    "案件受理费二千七百元",
    "由被告负担",
    "逾期利息按照全国银行间同业拆借中心公布的贷款市场报价利率计算",
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ("伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀兰", "霞", "平")
CITIES = (
    "北京市朝阳区建国路",
    "上海市浦东新区世纪大道",
    "广州市天河区体育西路",
    "深圳市南山区科技园",
    "杭州市西湖区文三路",
    "成都市武侯区人民南路",
)
CARRIERS = (
    ("顺丰速运", "SF", "https://www.sf-express.com/we/ow/chn/sc/waybill/waybill-detail/"),
    ("圆通速递", "YT", "https://www.yto.net.cn/track?no="),
    ("京东物流", "JD", "https://www.jdl.com/orderSearch/?waybillCodes="),
    ("中通快递", "ZT", "https://www.zto.com/express/expressCheck.html?txtBill="),
)


# ---------------------------------------------------------------- primitives


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(64))


def _noise(rng: random.Random, amplitude: int, size: tuple[int, int] = PAGE_SIZE) -> Image.Image:
    """Uniform noise 0..amplitude-1 as an L image: random bytes scaled by a LUT (the cheap way)."""
    raw = Image.frombytes("L", size, _np_rng(rng).bytes(size[0] * size[1]))
    return raw.point([v * amplitude >> 8 for v in range(256)])


def _paper(rng: random.Random, amplitude: int = 10) -> Image.Image:
    """Gray paper: near-white with fibre noise."""
    raw = Image.frombytes("L", PAGE_SIZE, _np_rng(rng).bytes(W * H))
    return raw.point([WHITE - (v * amplitude >> 8) for v in range(256)])


def _tint(gray: Image.Image, tint: tuple[int, int, int]) -> Image.Image:
    """Multiply a gray page by a paper tint: three LUTs and a merge (faster than RGB arithmetic)."""
    return Image.merge("RGB", [gray.point([v * c // 255 for v in range(256)]) for c in tint])


def _grain(page: Image.Image, rng: random.Random, amplitude: int) -> Image.Image:
    """Darken an RGB page by the same noise on every channel (sensor grain)."""
    noise = _noise(rng, amplitude, page.size)
    return ImageChops.subtract(page, Image.merge("RGB", (noise, noise, noise)))


def _finish(img: Image.Image) -> Image.Image:
    img.info["dpi"] = (DPI, DPI)
    return img


def _sentence(rng: random.Random) -> str:
    return "，".join(rng.sample(PHRASES, rng.randint(2, 4))) + "。"


def _body_lines(rng: random.Random, count: int, per_line: int) -> list[str]:
    """Paragraphs of generated sentences broken into lines of `per_line` characters."""
    lines: list[str] = []
    while len(lines) < count:
        paragraph = "　　" + "".join(_sentence(rng) for _ in range(rng.randint(1, 3)))
        lines += [paragraph[i : i + per_line] for i in range(0, len(paragraph), per_line)]
    return lines[:count]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randint(0, 9)}****{rng.randint(0, 9999):04d}"


def _paste_code(ink: Image.Image, dark: np.ndarray, xy: tuple[int, int], module_px: int, height: int | None = None) -> Image.Image:
    """Paste module-exact code ink (255 = dark) into an ink mask; returns the code image."""
    code = modules_to_image(dark, module_px, height)
    ink.paste(code.point([WHITE - v for v in range(256)]), xy)
    return code


# ---------------------------------------------------------------- pages


def _ink_text(rng: random.Random, title: str, lines: int = 30) -> Image.Image:
    """Ink mask (255 = black) of a titled page of Chinese legal text."""
    ink = Image.new("L", PAGE_SIZE, 0)
    draw = ImageDraw.Draw(ink)
    level = rng.randint(200, 235)  # toner density varies between pages
    draw.text((W // 2, 240), title, font=pillow_font(84), fill=level, anchor="mt")
    font, pitch, left = pillow_font(46), 92, 250 + rng.randint(-20, 20)
    for i, line in enumerate(_body_lines(rng, lines, 42)):
        draw.text((left, 470 + i * pitch), line, font=font, fill=level)
    draw.text((W // 2, H - 200), f"第 {rng.randint(1, 30)} 页", font=pillow_font(40), fill=level, anchor="mt")
    return ink


def _seal(page: Image.Image, rng: random.Random) -> None:
    """A red court seal ring multiplied over the page, like ink over toner."""
    size, cx, cy = 520, rng.randint(1500, 1900), rng.randint(2700, 3000)
    box = (cx - size // 2, cy - size // 2, cx + size // 2, cy + size // 2)
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse((10, 10, size - 10, size - 10), outline=215, width=16)
    r, c = 70, size // 2
    star = [
        (
            c + (r if k % 2 == 0 else r * 0.4) * math.sin(k * math.pi / 5),
            c - 40 - (r if k % 2 == 0 else r * 0.4) * math.cos(k * math.pi / 5),
        )
        for k in range(10)
    ]
    draw.polygon(star, fill=215)
    draw.text((c, c + 70), "人民法院", font=pillow_font(72), fill=215, anchor="mm")
    draw.text((c, c + 160), "诉讼专用章", font=pillow_font(44), fill=200, anchor="mm")
    mask = mask.rotate(rng.uniform(-25, 25), resample=Image.Resampling.BILINEAR)
    red = Image.composite(Image.new("RGB", mask.size, (205, 35, 40)), Image.new("RGB", mask.size, (255, 255, 255)), mask)
    page.paste(ImageChops.multiply(page.crop(box), red), box[:2])


def text_page(seed: int, *, colour: bool = True, title: str | None = None) -> Image.Image:
    """~30 lines of Chinese legal text on tinted paper; RGB with a red seal, or gray (L)."""
    rng = random.Random(seed)
    default = rng.choice(TITLES)  # drawn either way: a custom title leaves the rest of the page alike
    ink = _ink_text(rng, title or default)
    gray = ImageChops.subtract(_paper(rng), ink)
    if not colour:
        return _finish(gray)
    page = _tint(gray, rng.choice(PAPER_TINTS))
    _seal(page, rng)
    return _finish(page)


def _photo(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Photo-like content: a smooth colour gradient and soft shapes (grain is added page-wide)."""
    small = (max(size[0] // 16, 2), max(size[1] // 16, 2))
    corners = Image.new("RGB", (2, 2))
    corners.putdata([tuple(rng.randint(30, 230) for _ in range(3)) for _ in range(4)])
    img = corners.resize(small, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(6, 14)):
        x, y = rng.randint(0, small[0]), rng.randint(0, small[1])
        rx, ry = rng.randint(5, small[0] // 3), rng.randint(5, small[1] // 3)
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        shape = draw.ellipse if rng.random() < 0.6 else draw.rectangle
        shape((x - rx, y - ry, x + rx, y + ry), fill=colour)
    return img.filter(ImageFilter.GaussianBlur(1.2)).resize(size, Image.Resampling.BICUBIC)


def photo_page(seed: int) -> Image.Image:
    """An evidence photo sheet: two colour photos with Chinese captions on white paper."""
    rng = random.Random(seed)
    page = Image.new("RGB", PAGE_SIZE, rng.choice(PAPER_TINTS))
    draw = ImageDraw.Draw(page)
    draw.text((W // 2, 200), "证据照片", font=pillow_font(84), fill=(30, 30, 30), anchor="mt")
    for k, top in enumerate((420, 1900)):
        size = (1900 + rng.randint(-100, 0), 1300 + rng.randint(-100, 0))
        page.paste(_photo(rng, size), ((W - size[0]) // 2, top))
        caption = f"照片{k + 1}：{rng.choice(CITIES)}现场，拍摄于二〇二四年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
        draw.text((W // 2, top + size[1] + 40), caption, font=pillow_font(44), fill=(30, 30, 30), anchor="mt")
    return _finish(_grain(page, rng, 18))


def _label_grid(draw: ImageDraw.ImageDraw, rng: random.Random, left: int, top: int, width: int) -> int:
    """Sender/recipient boxes of a waybill; returns the bottom y."""
    rows = (
        ("收件人", f"{_name(rng)}  {_phone(rng)}", f"{rng.choice(CITIES)}{rng.randint(1, 999)}号"),
        ("寄件人", f"{_name(rng)}  {_phone(rng)}", f"{rng.choice(CITIES)}{rng.randint(1, 999)}号"),
    )
    y = top
    for label, who, where in rows:
        draw.rectangle((left, y, left + width, y + 300), outline=255, width=5)
        draw.text((left + 30, y + 30), label, font=pillow_font(60), fill=255)
        draw.text((left + 260, y + 40), who, font=pillow_font(52), fill=255)
        draw.text((left + 260, y + 150), where, font=pillow_font(46), fill=255)
        y += 300
    for text in (
        f"托寄物：{rng.choice(('文件', '合同原件', '设备配件', '样品'))}",
        "付款方式：寄付月结",
        "签收人：__________   日期：____年__月__日",
    ):
        draw.text((left + 30, y + 40), text, font=pillow_font(48), fill=255)
        y += 110
    draw.rectangle((left, top, left + width, y + 20), outline=255, width=5)
    return y + 20


def waybill_page(seed: int) -> Image.Image:
    """A photocopied express waybill (快递运单): Code128 waybill number and a tracking QR — foreign."""
    rng = random.Random(seed)
    carrier, prefix, url = rng.choice(CARRIERS)
    number = prefix + "".join(str(rng.randint(0, 9)) for _ in range(13))
    ink = Image.new("L", PAGE_SIZE, 0)
    draw = ImageDraw.Draw(ink)
    left, top, width = 300 + rng.randint(-60, 60), 300 + rng.randint(-60, 60), 1800
    draw.text((left, top), carrier, font=pillow_font(110), fill=255)
    draw.text((left + width, top + 20), "标准快递", font=pillow_font(70), fill=255, anchor="ra")
    bars = _paste_code(ink, code128_modules(number), (left + 60, top + 200), 4, 220)
    draw.text(
        (left + 60 + bars.width // 2, top + 440),
        " ".join(number[i : i + 4] for i in range(0, 15, 4)),
        font=pillow_font(64),
        fill=255,
        anchor="mt",
    )
    qr_top = _label_grid(draw, rng, left, top + 560, width) + 80
    _paste_code(ink, qr_modules(url + number, error="m"), (left + width - 500, qr_top), 8)
    draw.text((left, qr_top + 40), "扫码查询物流信息", font=pillow_font(56), fill=255)
    draw.text((left, qr_top + 140), f"运单号：{number}", font=pillow_font(56), fill=255)
    return _finish(ImageChops.subtract(_paper(rng), ink))


def invoice_page(seed: int) -> Image.Image:
    """An electronic invoice (电子发票) print with its invoice-data QR — foreign."""
    rng = random.Random(seed)
    number = "".join(str(rng.randint(0, 9)) for _ in range(20))
    amount = f"{rng.randint(100, 99999)}.{rng.randint(0, 99):02d}"
    data = f"01,32,,{number},{amount},2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d},,{rng.getrandbits(16):04X},"
    ink = Image.new("L", PAGE_SIZE, 0)
    _paste_code(ink, qr_modules(data, error="m"), (260, 240), 7)
    text = ImageDraw.Draw(ink)
    text.text((1700, 480), f"发票号码：{number}", font=pillow_font(40), fill=255)
    text.text((1700, 540), f"开票日期：2024年{rng.randint(1, 12)}月{rng.randint(1, 28)}日", font=pillow_font(40), fill=255)
    rows = (
        "购买方信息  名称：" + _name(rng) + "  统一社会信用代码：91110105MA01XXXXXX",
        "销售方信息  名称：某某科技有限公司  统一社会信用代码：91440300MA5XXXXXXX",
        "项目名称  *信息技术服务*技术服务费     单价  数量 1  税率 6%",
        f"合　　计  ¥{amount}",
        f"价税合计（小写） ¥{amount}",
        "备注",
        f"开票人：{_name(rng)}",
    )
    for k, row in enumerate(rows):
        text.text((240, 800 + k * 260), row, font=pillow_font(48), fill=255)
    page = _tint(ImageChops.subtract(_paper(rng, 6), ink), rng.choice(PAPER_TINTS))
    # invoice forms print title and frame in brown-red; drawn on RGB, only the strokes cost
    frame = ImageDraw.Draw(page)
    frame.text((W // 2, 300), "电子发票（普通发票）", font=pillow_font(96), fill=(150, 70, 40), anchor="mt")
    for k in range(len(rows)):
        frame.rectangle((200, 700 + k * 260, W - 200, 960 + k * 260), outline=(150, 70, 40), width=4)
    return _finish(page)


def blank_backside(seed: int, *, bleed: bool = True) -> Image.Image:
    """The near-white back of a duplex sheet, with faint mirrored, blurred bleed-through."""
    rng = random.Random(seed)
    gray = _paper(rng, 6)
    if bleed:
        ink = _ink_text(rng, rng.choice(TITLES)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        soft = ink.reduce(4).resize(PAGE_SIZE, Image.Resampling.BILINEAR)  # cheap blur: paper diffuses it
        gray = ImageChops.subtract(gray, soft.point([v * 7 // 100 for v in range(256)]))
    return _finish(_tint(gray, rng.choice(PAPER_TINTS)))


def barcode_page(seed: int, codes: Sequence[tuple[str, str]], *, module_px: int = 10) -> Image.Image:
    """A gray page carrying the given (text, "QRCode" | "Code128") codes, one per row, each labelled."""
    rng = random.Random(seed)
    ink = _ink_text(rng, "附件", lines=4)
    draw = ImageDraw.Draw(ink)
    y = 900
    for text, fmt in codes:
        if fmt == "QRCode":
            code = _paste_code(ink, qr_modules(text, error="q"), (400, y), module_px)
        else:
            bars = code128_modules(text)
            code = _paste_code(ink, bars, (400, y), max(module_px // 2, 3), int(len(bars) * module_px * 0.2))
        draw.text((400, y + code.height + 30), text, font=pillow_font(40), fill=230)
        y += code.height + 180
    return _finish(ImageChops.subtract(_paper(rng), ink))


# ---------------------------------------------------------------- degradations


def _rotate(img: Image.Image, angle: float) -> Image.Image:
    return img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=_white(img))


def _white(img: Image.Image) -> int | tuple[int, int, int]:
    return (255, 255, 255) if img.mode == "RGB" else 255


def _lut(img: Image.Image, fn: Callable[[int], float]) -> Image.Image:
    table = [max(0, min(255, int(fn(v)))) for v in range(256)]
    return img.point(table * len(img.getbands()))


def _add_noise(img: Image.Image, rng: random.Random, half_width: int) -> Image.Image:
    """Zero-mean uniform noise ±half_width (σ ≈ half_width / 1.7), the same on every channel."""
    noise = _noise(rng, 2 * half_width + 1, img.size)
    if img.mode == "RGB":
        noise = noise.convert("RGB")
    return ImageChops.add(img, noise, 1.0, -half_width)


def _salt_pepper(img: Image.Image, rng: random.Random) -> Image.Image:
    """2 % of the pixels black, 2 % white."""
    a = np.array(img)
    draw = _np_rng(rng).integers(0, 100, size=a.shape[:2], dtype=np.uint8)
    a[draw < 2] = 0
    a[(draw >= 2) & (draw < 4)] = 255
    return Image.fromarray(a, mode=img.mode)


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out


def _worn(img: Image.Image, rng: random.Random) -> Image.Image:
    """Faded toner, a soft greasy smudge and a fold crease: old, handled paper."""
    faded = _lut(img, lambda v: 255 - (255 - v) * 0.6)
    small = Image.new("L", (W // 8, H // 8), 255)
    cx, cy = rng.randint(40, W // 8 - 40), rng.randint(40, H // 8 - 40)
    rx, ry = rng.randint(25, 70), rng.randint(20, 50)
    ImageDraw.Draw(small).ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=175)
    wear = small.filter(ImageFilter.GaussianBlur(12)).resize(img.size, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(wear)
    y0, y1 = rng.randint(H // 3, 2 * H // 3), rng.randint(H // 3, 2 * H // 3)
    draw.line((0, y0, img.width, y1), fill=150, width=4)  # the crease's shadow side
    draw.line((0, y0 + 5, img.width, y1 + 5), fill=240, width=3)
    if img.mode == "RGB":
        wear = wear.convert("RGB")
    return ImageChops.multiply(faded, wear)


def _skew(img: Image.Image, degrees: float) -> Image.Image:
    """A sheet that slid sideways in the rollers: rows shear by tan(degrees), white fill."""
    t = math.tan(math.radians(degrees))
    return img.transform(
        img.size, Image.Transform.AFFINE, (1, t, -t * img.height / 2, 0, 1, 0), resample=Image.Resampling.BILINEAR, fillcolor=_white(img)
    )


DEGRADATIONS = ("rot1", "rot3", "rot7", "rot90", "rot180", "lowcontrast", "saltpepper", "blur1", "jpeg30", "worn", "skew2")


def degrade(img: Image.Image, kind: str, seed: int = 0) -> Image.Image:
    """A copy of the page with one scan defect; see DEGRADATIONS. Rotations pick their sign from the seed."""
    rng = random.Random(seed)
    sign = rng.choice((-1, 1))
    if kind in ("rot1", "rot3", "rot7"):
        out = _rotate(img, sign * int(kind[3:]))
    elif kind == "rot90":
        out = img.transpose(Image.Transpose.ROTATE_90 if sign > 0 else Image.Transpose.ROTATE_270)
    elif kind == "rot180":
        out = img.transpose(Image.Transpose.ROTATE_180)
    elif kind == "lowcontrast":
        out = _add_noise(_lut(img, lambda v: 115 + v * 60 / 255), rng, 7)
    elif kind == "saltpepper":
        out = _salt_pepper(img, rng)
    elif kind == "blur1":
        out = img.filter(ImageFilter.GaussianBlur(1))
    elif kind == "jpeg30":
        out = _jpeg(img, 30)
    elif kind == "worn":
        out = _worn(img, rng)
    elif kind == "skew2":
        out = _skew(img, sign * 2)
    else:
        raise ValueError(f"unknown degradation {kind!r}; known: {', '.join(DEGRADATIONS)}")
    return _finish(out)


# ---------------------------------------------------------------- files


def jpeg_bytes(img: Image.Image, *, quality: int = 85, dpi: int | None = DPI, mode: str | None = None) -> bytes:
    """The page as a JFIF file's bytes: dpi in the header unless None (a scanner that writes none)."""
    if mode is not None:
        img = img.convert(mode)
    buf = io.BytesIO()
    if dpi is None:
        img.save(buf, "JPEG", quality=quality)
    else:
        img.save(buf, "JPEG", quality=quality, dpi=(dpi, dpi))
    return buf.getvalue()


def save_jpeg(img: Image.Image, path: Path, *, quality: int = 85, dpi: int | None = DPI, mode: str | None = None) -> Path:
    """A JFIF file with the dpi in its header (img2pdf takes the page size from it)."""
    path = Path(path)
    path.write_bytes(jpeg_bytes(img, quality=quality, dpi=dpi, mode=mode))
    return path


# ---------------------------------------------------------------- pages with known text (OCR)

COURTS = ("北京市朝阳区人民法院", "上海市浦东新区人民法院", "广州市天河区人民法院", "深圳市南山区人民法院", "杭州市西湖区人民法院")
DOC_KINDS = ("民事判决书", "民事裁定书", "民事调解书", "民事起诉状", "答辩状", "证据清单")


@dataclass(frozen=True)
class KnownLine:
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the printed ink, pixels


@dataclass(frozen=True)
class KnownPage:
    """A generated court page and exactly what is printed on it, line by line."""

    image: Image.Image
    lines: tuple[KnownLine, ...]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def court_page(seed: int, *, colour: bool = True, font_px: int | None = None) -> KnownPage:
    """A judgment-style page: court, title, case number, ~28 body lines, signatures; text known.

    Body text 40–50 px (about 10–12 pt at 300 dpi), ragged paragraph ends and
    indents, toner density and paper tint vary with the seed. No seal: this is the
    clean-print page the accuracy target is stated for."""
    rng = random.Random(seed)
    ink = Image.new("L", PAGE_SIZE, 0)
    draw = ImageDraw.Draw(ink)
    level = rng.randint(205, 240)
    size = font_px or rng.choice((40, 44, 46, 50))
    pitch, left = int(size * 1.95), 240 + rng.randint(-20, 20)
    per_line = (W - 2 * left) // size
    lines: list[KnownLine] = []

    def put(text: str, xy: tuple[int, int], font_size: int, anchor: str = "la") -> None:
        font = pillow_font(font_size)
        draw.text(xy, text, font=font, fill=level, anchor=anchor)
        shown = text.lstrip("　")
        at = (xy[0] + int(font.getlength(text[: len(text) - len(shown)])), xy[1]) if anchor == "la" else xy
        left, top, right, bottom = (int(v) for v in draw.textbbox(at, shown, font=font, anchor=anchor))
        layout = (left, top, right, bottom)
        ink_box = ink.crop(layout).getbbox() or (0, 0, 0, 0)  # the printed pixels, not the advance box
        lines.append(KnownLine(shown, (layout[0] + ink_box[0], layout[1] + ink_box[1], layout[0] + ink_box[2], layout[1] + ink_box[3])))

    put(rng.choice(COURTS), (W // 2, 220), 64, "mt")
    put(rng.choice(DOC_KINDS), (W // 2, 340), 84, "mt")
    year = rng.randint(2019, 2026)
    put(f"（{year}）京{rng.randint(101, 119):04d}民初{rng.randint(1, 39999)}号", (W - left, 500), size, "rt")
    y = 500 + pitch
    body = _body_lines(rng, 26 if size <= 46 else 22, per_line)
    for text in body:
        put(text, (left, y), size)
        y += pitch
    put(f"审判员　{_name(rng)}", (W - left, y + pitch // 2), size, "rt")
    put(f"二〇二{rng.randint(0, 6)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日", (W - left, y + 3 * pitch // 2), size, "rt")
    gray = ImageChops.subtract(_paper(rng), ink)
    known = tuple(line for line in lines if line.text)
    if not colour:
        return KnownPage(_finish(gray), known)
    page = _tint(gray, rng.choice(PAPER_TINTS))
    return KnownPage(_finish(page), known)


# ---------------------------------------------------------------- QC pages and the defects scanners make
#
# Real A4 page scans with and without QC defects, made the way scanners make them
# (exposure curves, a black lid band, bleed-through from the recto, a page put in
# twice), not by editing QC inputs; tests write them with `save_jpeg` and reach QC
# through the production decode.

A4 = PAGE_SIZE
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
    """The QC pages' font: Pillow's default layout engine, as the thresholds were tuned with."""
    return pillow_font(size, basic_layout=False)


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
    star = [
        (cx + 60 * math.cos(math.pi / 2 + k * 4 * math.pi / 5), cy - 60 * math.sin(math.pi / 2 + k * 4 * math.pi / 5)) for k in range(5)
    ]
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


def judgment_page(
    seed: int = 1, *, lines: int = 18, table: bool = True, seal: bool = True, photo: bool = True, title: bool = True
) -> Image.Image:
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


def bleed_backside(seed: int = 5) -> Image.Image:
    """Duplex back side of a printed page: faint mirrored bleed-through, paper grain, dust specks."""
    front = judgment_page(seed, table=False, seal=False, photo=False).convert("L")
    ghost = front.transpose(Image.Transpose.FLIP_LEFT_RIGHT).filter(ImageFilter.GaussianBlur(3))
    g = np.asarray(ghost, dtype=np.float32)
    paper = np.full(g.shape, 240.0, dtype=np.float32) - (255 - g) * 0.12  # ≤ ~25 levels of show-through
    rng = np.random.default_rng(seed)
    for _ in range(25):  # dust: specks a few pixels wide
        y, x = rng.integers(200, A4[1] - 200), rng.integers(200, A4[0] - 200)
        paper[y : y + 3, x : x + 3] = 60
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
    return tone(img, 0.3, 0)  # paper ≈ 73, text ≈ 8


def washed_out(img: Image.Image) -> Image.Image:
    return tone(img, 0.35, 175)  # paper clips to 255, text ≈ 185


def lid_open(img: Image.Image, top: int = 140, right: int = 110) -> Image.Image:
    """Scanner lid left open: black bands beyond the paper at the top and right edges."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    draw.rectangle([0, 0, A4[0], top], fill=(12, 12, 14))
    draw.rectangle([A4[0] - right, 0, A4[0], A4[1]], fill=(12, 12, 14))
    return out


def edge_rule_page(seed: int = 7) -> Image.Image:
    """Clean page whose letterhead rule runs to the very edge (4 px at the top) – not a border."""
    out = judgment_page(seed)
    draw = ImageDraw.Draw(out)
    draw.rectangle([0, 0, A4[0], 3], fill=INK)
    draw.line([(0, 260), (A4[0], 260)], fill=SEAL_RED, width=6)
    return out


# ---------------------------------------------------------------- plain pages of any size

SMALL = (400, 566)  # small A4-shaped pages keep the format corpus fast; the memory probe uses big ones


def plain_page(seed: int = 0, size: tuple[int, int] = SMALL, mode: str = "RGB", *, grain: int = 1) -> Image.Image:
    """A page with paper noise, a title bar, text-like lines and a coloured seal.

    grain: paper noise drawn at 1/grain of the size and enlarged (a 600 dpi A3 page stays cheap)."""
    rng = np.random.default_rng(seed)
    w, h = size
    paper = rng.normal(238, 6, (h // grain, w // grain)).clip(0, 255).astype(np.uint8)
    grey = Image.fromarray(paper) if grain == 1 else Image.fromarray(paper).resize(size)
    img = Image.merge("RGB", [grey] * 3)
    draw = ImageDraw.Draw(img)
    draw.rectangle((w // 8, h // 12, w * 7 // 8, h // 12 + h // 40), fill=(20, 20, 20))
    for row in range(h // 6, h * 5 // 6, max(8, h // 40)):
        length = int(w * (0.5 + 0.35 * rng.random()))
        draw.rectangle((w // 10, row, w // 10 + length, row + max(2, h // 160)), fill=(30, 30, 40))
    draw.ellipse((w * 6 // 10, h * 7 // 10, w * 8 // 10, h * 7 // 10 + w // 5), outline=(200, 20, 20), width=max(4, w // 200))
    return img if mode == "RGB" else img.convert(mode)


def bilevel_page(seed: int = 0, size: tuple[int, int] = SMALL) -> Image.Image:
    """`plain_page` thresholded to 1-bit, as a bilevel scanner mode writes it."""
    return plain_page(seed, size, "L").point(lambda v: 255 if v > 128 else 0).convert("1")


def _figures_line(rng: random.Random) -> str:
    """A line of the figures a judgment is full of, with runs of one digit (500000000, 77777)."""
    zeros, run = "0" * rng.randint(3, 8), rng.choice("123456789") * rng.randint(2, 6)
    return rng.choice(
        (
            f"判令被告支付货款人民币{rng.randint(1, 9)}{zeros}元，另付违约金{run}元",
            f"利息按年利率{rng.randint(1, 9)}.{'0' * rng.randint(2, 4)}{rng.randint(1, 9)}%计算，合计{rng.randint(1, 9)}{run}{zeros}元",
            f"自{rng.randint(2000, 2026)}年{rng.randint(1, 12)}月{rng.choice(('1', '11', '10', '20'))}日起至清偿之日止",
            f"身份证号{rng.randint(10**17, 10**18 - 1)}，电话{rng.randint(13000000000, 13999999999)}",
            f"合同编号HT-{rng.randint(2019, 2026)}-{rng.randint(1, 9999):04d}，账号6222{run}{rng.randint(10**5, 10**6 - 1)}",
        )
    )


def figures_page(seed: int, *, font_px: int | None = None) -> KnownPage:
    """A page of amounts, rates, dates, ID, phone and account numbers (24 lines, 34–46 px): the
    figures a court cannot afford to have misread, with runs of one digit that an OCR that
    narrows its line images merges (800000000元 read as 800000元). Clean print, text known."""
    rng = random.Random(seed)
    ink = Image.new("L", PAGE_SIZE, 0)
    draw = ImageDraw.Draw(ink)
    size = font_px or rng.choice((34, 40, 46))
    font, level, left = pillow_font(size), rng.randint(205, 240), 240
    lines: list[KnownLine] = []
    for n in range(24):
        text, y = _figures_line(rng), 300 + n * int(size * 1.95)
        draw.text((left, y), text, font=font, fill=level)
        x0, y0, x1, y1 = (int(v) for v in draw.textbbox((left, y), text, font=font))
        layout = (x0, y0, x1, y1)
        box = ink.crop(layout).getbbox() or (0, 0, 0, 0)
        lines.append(KnownLine(text, (layout[0] + box[0], layout[1] + box[1], layout[0] + box[2], layout[1] + box[3])))
    page = _tint(ImageChops.subtract(_paper(rng), ink), rng.choice(PAPER_TINTS))
    return KnownPage(_finish(page), tuple(lines))
