"""PDF pages → scan pages: planned for every page first, then decoded one at a time.

Plan (no image data decoded): walk each page's content — the page stream,
Form XObjects it draws (with their /Matrix) and inline images — and record
every image it paints with its transform. Everything a page could be refused
for is decided here, for every page, before the first pixel is decoded: no
image at all (a born-digital page), an image over the pixel cap or the
per-page memory budget, an unknown filter, JBIG2 without a decoder on this
machine, spot colours, a mask at another resolution than its image
(layered/MRC compression), images placed skewed or at mixed resolutions.

Decode, page by page, keeping the master as close to the scanner's bytes as
the container allows:
- one plain JPEG over the whole page → its JPEG bytes, unchanged;
- one CCITT G3/G4 image → its fax data, unchanged, in a TIFF wrapper with the dpi;
- one JPEG 2000 image → its codestream, unchanged;
- anything else (Flate, JBIG2, several strips, a stencil-only bilevel page, an
  image with an alpha mask of its own size, quarter turns from the content
  stream or /Rotate) → the decoded pixels, exactly, as a lossless TIFF
  (G4 for bilevel, LZW otherwise). Nothing is resampled: what would need
  resampling is refused.
Text and vector drawing on a scanned page (an OCR layer, a stamp) are not the
scan and are left out.
"""

from __future__ import annotations

import base64
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pikepdf
import pikepdf.jbig2
from PIL import Image

from juanzong.edge.ingest import analysis, pdfflate, raster, tiffdir
from juanzong.edge.ingest.context import Claimed, Page, new_page
from juanzong.edge.ingest.faults import PDF_FILTERS, megabytes, refuse
from juanzong.shared.errors import AppError, ErrorCode

COVER = 0.97  # an image placed over ≥ 97 % of the MediaBox each way covers the page
MAX_FORM_DEPTH = 8
_WRAPPERS = {"/ASCII85Decode", "/ASCIIHexDecode", "/FlateDecode"}  # lossless, around the DCT data
_KNOWN_FILTERS = set(PDF_FILTERS) - {"/Crypt"} | {"/ASCII85Decode", "/ASCIIHexDecode"}
_COMPONENTS = {"/DeviceGray": 1, "/CalGray": 1, "/DeviceRGB": 3, "/CalRGB": 3, "/Lab": 3, "/DeviceCMYK": 4}
_SPOT = {"/Separation": "专色（Separation）", "/DeviceN": "多专色（DeviceN）", "/Pattern": "图案色彩空间"}
_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_TURNS = {  # signs of the transform → the lossless transpose that draws the image upright
    "a+d+": None,
    "a-d-": Image.Transpose.ROTATE_180,
    "a+d-": Image.Transpose.FLIP_TOP_BOTTOM,
    "a-d+": Image.Transpose.FLIP_LEFT_RIGHT,
    "b+c+": Image.Transpose.TRANSVERSE,
    "b+c-": Image.Transpose.ROTATE_90,
    "b-c+": Image.Transpose.ROTATE_270,
    "b-c-": Image.Transpose.TRANSPOSE,
}
_PAGE_ROTATE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


@dataclass(frozen=True)
class Placed:
    """One image a page paints: the stream (or inline image) and where it lands."""

    image: pikepdf.Stream | pikepdf.PdfInlineImage
    ctm: tuple[float, ...]
    width: int
    height: int
    stencil: bool  # /ImageMask: a bilevel shape painted in the fill colour
    black_fill: bool  # the fill colour when it was painted was black
    filters: tuple[str, ...]
    masked: bool  # carries /SMask or /Mask of its own size (kept as an alpha channel)

    @property
    def turn(self) -> Image.Transpose | None:
        return _TURNS.get(_signs(self.ctm))

    @property
    def extent(self) -> tuple[float, float]:
        """Width and height on the page, in points."""
        a, b, c, d, _, _ = self.ctm
        return (abs(a), abs(d)) if abs(b) < 1e-6 else (abs(c), abs(b))


@dataclass(frozen=True)
class PagePlan:
    number: int  # 1-based
    placed: tuple[Placed, ...]
    box: tuple[float, float, float, float]
    rotate: int


def pdf_pages(claimed: Claimed, raw: bytes, max_pixels: int) -> Iterator[Page]:
    name = claimed.source_name
    try:
        # no recovery: qpdf would otherwise rebuild a cut file's xref and hand back fewer pages
        with pikepdf.open(io.BytesIO(raw), attempt_recovery=False) as pdf:
            plans = [_plan(pdf, page, i + 1, name, max_pixels) for i, page in enumerate(pdf.pages)]
            if not plans:
                raise AppError(ErrorCode.FILE_EMPTY, name=name)
            for plan in plans:
                yield _decode_page(claimed, plan, max_pixels)
            damage = pdf.get_warnings()
    except AppError:
        raise
    except pikepdf.PasswordError as exc:
        raise refuse(ErrorCode.FILE_ENCRYPTED, name, exc) from exc
    except pikepdf.DependencyError as exc:
        raise refuse(ErrorCode.FILE_DECODER_MISSING, name, exc, detail="JBIG2 图像", program="jbig2dec") from exc
    except (NotImplementedError, pikepdf.UnsupportedImageTypeError) as exc:
        raise refuse(ErrorCode.FILE_PIXEL_FORMAT, name, exc, detail="PDF 图像的色彩空间或位深") from exc
    except Exception as exc:  # qpdf's and the decoders' errors: the file is damaged
        code = ErrorCode.FILE_UNREADABLE if b"%%EOF" in raw[-1024:] else ErrorCode.FILE_TRUNCATED
        raise refuse(code, name, exc, detail="PDF 文件结构或图像数据已损坏") from exc
    if damage:
        raise refuse(ErrorCode.FILE_UNREADABLE, name, Exception(damage[0]), detail="PDF 文件结构已损坏（需修复才能读取）")


# --------------------------------------------------------------------------- plan


def _plan(pdf: pikepdf.Pdf, page: pikepdf.Page, number: int, name: str, max_pixels: int) -> PagePlan:
    placed = tuple(_walk(page.obj, page.obj.get("/Resources", pikepdf.Dictionary()), _IDENTITY, name, number, 0))
    if not placed:
        raise AppError(ErrorCode.FILE_NOT_A_SCAN, name=name, page=number)
    try:
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    except (ValueError, TypeError) as exc:
        raise AppError(ErrorCode.FILE_UNREADABLE, name=name, detail=f"第 {number} 页的页面边框不是四个数") from exc
    box = (x0, y0, x1, y1)
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    banded = _banded(placed, box, rotate) is not None
    for image in placed:
        _check_image(image, name, number, max_pixels, banded)
    _check_layout(placed, name, number)
    return PagePlan(number, placed, box, rotate)


def _banded(placed: tuple[Placed, ...], box: tuple[float, ...], rotate: int) -> pdfflate.FlateImage | None:
    """The page's one upright Flate image, if it is too large for a whole decode and
    can be decoded a band at a time (edge.ingest.pdfflate)."""
    if len(placed) != 1 or rotate != 0 or not _covers(placed[0], box):
        return None
    image = pdfflate.describe(placed[0].image)
    if image is None or raster.decoded_bytes(image.mode, (image.width, image.height)) <= raster.BAND_ABOVE:
        return None
    return image


def _walk(content, resources, ctm, name: str, number: int, depth: int) -> Iterator[Placed]:
    """Images painted by a content stream, forms followed with their /Matrix."""
    xobjects = resources.get("/XObject", pikepdf.Dictionary()) if resources is not None else {}
    stack, fill_black = [], True
    for instruction in pikepdf.parse_content_stream(content):
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            yield _placed_inline(instruction.iimage, ctm, fill_black)
            continue
        operands, op = instruction.operands, str(instruction.operator)
        if op == "q":
            stack.append((ctm, fill_black))
        elif op == "Q" and stack:
            ctm, fill_black = stack.pop()
        elif op == "cm":
            ctm = _multiply(tuple(float(v) for v in operands), ctm)
        elif op in ("g", "rg", "k", "sc", "scn"):
            fill_black = _is_black(op, operands)
        elif op == "Do":
            xobj = xobjects.get(operands[0])
            if xobj is None:
                continue
            if xobj.get("/Subtype") == "/Image":
                yield _placed(xobj, ctm, fill_black, name, number)
            elif xobj.get("/Subtype") == "/Form" and depth < MAX_FORM_DEPTH:
                matrix = tuple(float(v) for v in xobj.get("/Matrix", _IDENTITY))
                inner = xobj.get("/Resources", resources)
                yield from _walk(xobj, inner, _multiply(matrix, ctm), name, number, depth + 1)


def _is_black(op: str, operands) -> bool:
    values = [float(v) for v in operands if isinstance(v, (int, float, pikepdf.Object)) and _numeric(v)]
    if op == "k" or (op in ("sc", "scn") and len(values) == 4):
        return values[:3] == [0, 0, 0] and values[3:] == [1]
    return bool(values) and all(v == 0 for v in values)


def _numeric(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _filters(obj) -> tuple[str, ...]:
    f = obj.get("/Filter")
    if f is None:
        return ()
    return tuple(str(x) for x in (f if isinstance(f, pikepdf.Array) else [f]))


def _placed(xobj: pikepdf.Stream, ctm, fill_black: bool, name: str, number: int) -> Placed:
    width, height = int(xobj.get("/Width", 0)), int(xobj.get("/Height", 0))
    masked = False
    for key in ("/SMask", "/Mask"):
        mask = xobj.get(key)
        if isinstance(mask, pikepdf.Stream):
            if (int(mask.get("/Width", 0)), int(mask.get("/Height", 0))) != (width, height):
                raise AppError(ErrorCode.FILE_LAYERED_PDF, name=name, page=number, detail="蒙版与图像分辨率不同")
            masked = True
        elif isinstance(mask, pikepdf.Array):
            masked = True  # colour-key masking: transparency from the image's own colours
    return Placed(xobj, ctm, width, height, bool(xobj.get("/ImageMask", False)), fill_black, _filters(xobj), masked)


def _placed_inline(image: pikepdf.PdfInlineImage, ctm, fill_black: bool) -> Placed:
    filters = tuple(str(f) for f in image.filters)
    return Placed(image, ctm, image.width, image.height, image.image_mask, fill_black, filters, False)


def _check_image(image: Placed, name: str, number: int, max_pixels: int, banded: bool = False) -> None:
    pixels = image.width * image.height
    if pixels > max_pixels:
        raise AppError(ErrorCode.FILE_TOO_LARGE, name=name, pixels=pixels, limit=max_pixels)
    unknown = [f for f in image.filters if f not in _KNOWN_FILTERS]
    if unknown:
        raise AppError(ErrorCode.FILE_COMPRESSION, name=name, detail=PDF_FILTERS.get(unknown[0], unknown[0].lstrip("/")))
    if "/JBIG2Decode" in image.filters and not _jbig2_available():
        raise AppError(ErrorCode.FILE_DECODER_MISSING, name=name, detail="JBIG2 图像", program="jbig2dec")
    components = 1 if image.stencil else _components(image.image, name, number)
    need = _decode_cost(image, components)
    if need > raster.DECODE_BUDGET and not banded:
        raise AppError(ErrorCode.FILE_MEMORY_LIMIT, name=name, page=number, need=megabytes(need), limit=megabytes(raster.DECODE_BUDGET))


def _components(obj, name: str, number: int) -> int:
    if isinstance(obj, pikepdf.PdfInlineImage):
        return 3 if obj.mode in ("RGB", "CMYK") else 1
    space = obj.get("/ColorSpace")
    if space is None:  # JPX carries its own
        return 3
    family = str(space[0]) if isinstance(space, pikepdf.Array) else str(space)
    if family in _SPOT:
        raise AppError(ErrorCode.FILE_PIXEL_FORMAT, name=name, detail=_SPOT[family])
    if family == "/ICCBased":
        return int(space[1].get("/N", 3))
    if family == "/Indexed":
        return 1
    return _COMPONENTS.get(family, 3)


def _decode_cost(image: Placed, components: int) -> int:
    """Bytes a decode holds at once: Pillow's image, plus the raw samples for a transcoded filter."""
    pixels = image.width * image.height
    bpc = 1 if image.stencil else int(image.image.get("/BitsPerComponent", 8)) if isinstance(image.image, pikepdf.Stream) else 8
    pil = pixels * (1 if components == 1 and bpc <= 8 else 2 if components == 1 else 4)
    direct = set(image.filters) & {"/DCTDecode", "/JPXDecode", "/CCITTFaxDecode"}
    raw = 0 if direct else pixels * components * max(bpc, 8) // 8
    return pil + raw + (pixels if image.masked else 0)


def _check_layout(placed: tuple[Placed, ...], name: str, number: int) -> None:
    stencils = [p for p in placed if p.stencil]
    if stencils and len(placed) > 1:
        raise AppError(ErrorCode.FILE_LAYERED_PDF, name=name, page=number, detail="图像上叠加了黑白蒙版层")
    if stencils and not stencils[0].black_fill:
        raise AppError(ErrorCode.FILE_LAYERED_PDF, name=name, page=number, detail="以彩色填充的蒙版")
    if any(_signs(p.ctm) == "skew" for p in placed):
        raise AppError(ErrorCode.FILE_PDF_LAYOUT, name=name, page=number, detail="经倾斜或非直角旋转放置")
    if len(placed) == 1:
        return
    if any(p.turn is not None for p in placed):
        raise AppError(ErrorCode.FILE_PDF_LAYOUT, name=name, page=number, detail="分为多块且经旋转或翻转放置")
    scales = [s for p in placed for s in (p.width / p.extent[0], p.height / p.extent[1])]
    if max(scales) > min(scales) * 1.005:
        raise AppError(ErrorCode.FILE_PDF_LAYOUT, name=name, page=number, detail="分为多块且分辨率不一致")


def _signs(ctm: tuple[float, ...]) -> str:
    a, b, c, d, _, _ = ctm
    tiny = 1e-6 * max(abs(a), abs(b), abs(c), abs(d), 1e-9)
    if abs(b) <= tiny and abs(c) <= tiny and abs(a) > tiny and abs(d) > tiny:
        return f"a{'+' if a > 0 else '-'}d{'+' if d > 0 else '-'}"
    if abs(a) <= tiny and abs(d) <= tiny and abs(b) > tiny and abs(c) > tiny:
        return f"b{'+' if b > 0 else '-'}c{'+' if c > 0 else '-'}"
    return "skew"


def _multiply(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2, e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


_JBIG2: list[bool] = []


def _jbig2_available() -> bool:
    if not _JBIG2:
        try:
            pikepdf.jbig2.get_decoder().check_available()
            _JBIG2.append(True)
        except Exception:  # DependencyError, or a broken install: no JBIG2 on this machine
            _JBIG2.append(False)
    return _JBIG2[0]


# --------------------------------------------------------------------------- decode


def _decode_page(claimed: Claimed, plan: PagePlan, max_pixels: int) -> Page:
    index = plan.number - 1
    if len(plan.placed) == 1 and plan.rotate == 0:
        image = plan.placed[0]
        dpi = _dpi(image)
        if (data := _jpeg_bytes(image, plan.box)) is not None:
            return raster.jpeg_page(claimed, index, data, max_pixels, dpi=round(dpi))
        if (data := _passthrough(image, plan.box, dpi)) is not None:
            fmt = "jp2" if image.filters[-1:] == ("/JPXDecode",) else "tiff"
            im = raster.open_image(data, fmt, claimed.source_name, what=PDF_FILTERS[image.filters[-1]])
            if fmt == "jp2":
                return raster.jp2_page(claimed, index, data, im, dpi=round(dpi))
            return raster.analysed(claimed, index, data, fmt, im, dpi=round(dpi))
        if (flate := _banded(plan.placed, plan.box, plan.rotate)) is not None and isinstance(image.image, pikepdf.Stream):
            return pdfflate.page(claimed, index, image.image, flate, dpi)
    canvas, dpi = _lay_out(plan)
    if plan.rotate in _PAGE_ROTATE:  # /Rotate turns the page clockwise for display; transposes are lossless
        canvas = canvas.transpose(_PAGE_ROTATE[plan.rotate])
    half = analysis.half_grey(canvas)
    data = raster.lossless_tiff(canvas, dpi)
    return new_page(claimed, index, data, "tiff", canvas.size, round(dpi), canvas.mode, half, grey_source=analysis.grey_source(canvas))


def _dpi(image: Placed) -> float:
    w, h = (
        (image.width, image.height)
        if image.turn in (None, Image.Transpose.ROTATE_180, Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.FLIP_LEFT_RIGHT)
        else (image.height, image.width)
    )
    return min(w / image.extent[0], h / image.extent[1]) * 72


def _covers(image: Placed, box: tuple[float, ...]) -> bool:
    return (
        image.turn is None
        and not image.masked
        and not image.stencil
        and image.extent[0] >= COVER * (box[2] - box[0])
        and image.extent[1] >= COVER * (box[3] - box[1])
    )


def _jpeg_bytes(image: Placed, box: tuple[float, ...]) -> bytes | None:
    """The scanner's JPEG, if the page is one plain DCT image, upright, over the whole page.

    A text-only wrapper filter (ASCII85 from reportlab, Flate) is undone; the
    DCT data itself is returned as written. A /Decode array or CMYK would make
    the bare JPEG look different from the PDF page: those are extracted instead.
    """
    obj, filters = image.image, list(image.filters)
    if not isinstance(obj, pikepdf.Stream) or not _covers(image, box):
        return None
    plain = (
        filters[-1:] == ["/DCTDecode"]
        and set(filters[:-1]) <= _WRAPPERS
        and "/Decode" not in obj
        and obj.get("/ColorSpace") != "/DeviceCMYK"
    )
    if not plain or (len(filters) > 1 and "/DecodeParms" in obj):
        return None
    data = obj.read_raw_bytes()
    for wrapper in reversed(filters[:-1]):  # the first filter listed was applied last
        data = _UNWRAP[wrapper](data)
    return data


def _passthrough(image: Placed, box: tuple[float, ...], dpi: float) -> bytes | None:
    """A lone CCITT image as a TIFF around its unchanged fax data, or a lone JPX
    image's codestream; None where the page needs decoding."""
    obj = image.image
    if not isinstance(obj, pikepdf.Stream) or not _covers(image, box) or len(image.filters) != 1:
        return None
    if image.filters == ("/JPXDecode",) and "/Decode" not in obj and "/SMaskInData" not in obj:
        return obj.read_raw_bytes()
    if image.filters != ("/CCITTFaxDecode",):
        return None
    out = io.BytesIO()
    if pikepdf.PdfImage(obj).extract_to(stream=out) != ".tif":
        return None
    wrapped = out.getvalue()
    lay, dirs = tiffdir.directories(io.BytesIO(wrapped), len(wrapped))
    return tiffdir.split_page(wrapped, lay, dirs[0], tiffdir.resolution_entries(dpi, lay.order))


def _ascii85(data: bytes) -> bytes:
    body = b"".join(data.split()).removeprefix(b"<~").removesuffix(b"~>")
    return base64.a85decode(body)


_UNWRAP: dict[str, Callable[[bytes], bytes]] = {
    "/ASCII85Decode": _ascii85,
    "/FlateDecode": zlib.decompress,
    "/ASCIIHexDecode": lambda d: bytes.fromhex(d.decode("ascii").split(">")[0]),
}


def _pil(image: Placed) -> Image.Image:
    obj = image.image
    pdf_image = obj if isinstance(obj, pikepdf.PdfInlineImage) else pikepdf.PdfImage(obj)
    im = pdf_image.as_pil_image(apply_mask=image.masked)
    if image.stencil and im.mode != "1":
        im = im.convert("1")
    return im.transpose(image.turn) if image.turn is not None else im


def _lay_out(plan: PagePlan) -> tuple[Image.Image, float]:
    """The page's images at their common resolution, pixel for pixel (no resampling).

    One image is returned as it is (turned upright where the content stream
    turned it); several (strips or tiles) are pasted onto a white page."""
    if len(plan.placed) == 1:  # as it is, even at 204×98 dpi (fax resolution): the dpi is the lower one
        image = plan.placed[0]
        return _pil(image), _dpi(image)
    box = plan.box
    scale = plan.placed[0].width / plan.placed[0].extent[0]  # pixels per point
    images = [(_pil(p), p.ctm) for p in plan.placed]
    mode = _common_mode([im.mode for im, _ in images])
    size = (round((box[2] - box[0]) * scale), round((box[3] - box[1]) * scale))
    canvas = Image.new(mode, size, "white")
    for im, (_, _, _, d, e, f) in images:
        canvas.paste(im.convert(mode), (round((e - box[0]) * scale), round((box[3] - f - d) * scale)))
    return canvas, scale * 72


def _common_mode(modes: list[str]) -> str:
    if len(set(modes)) == 1:
        return modes[0]
    return "L" if set(modes) <= {"1", "L"} else "RGB"
