"""Assembly: an item's master images → one PDF, the masters embedded untouched.

img2pdf puts every master into the PDF as it is: a JPEG's bytes are the image
stream (DCTDecode passthrough), so the SHA-256 recorded at scan time still
holds for the image inside the PDF; a CCITT TIFF is passed through, PNG and
other TIFFs are embedded losslessly (Flate of the same pixels). A page turned
by the operator gets `/Rotate` (page metadata), never a re-encoded image.

On top of each image, in one appended content stream, go the page stamp
(edge.documents.stamp) and, once OCR has read the page, the invisible text
layer (edge.documents.textlayer). The same function builds the image-only PDF
(no texts yet) and the searchable one (texts for every page), so the two can
only differ by the text layer.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import img2pdf
import pikepdf
from PIL import Image

from juanzong.edge.documents import stamp, textlayer
from juanzong.edge.documents.textlayer import PageText
from juanzong.shared.errors import AppError, ErrorCode

A4_WIDTH_PT = 595.276
MIN_DPI = 150  # a header below this (phone photo at 72 dpi, no header at all) → fit to A4 width
VOLUME_NAMES = {"main": "正卷", "internal": "副卷"}
ROTATIONS = (0, 90, 180, 270)
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


@dataclass(frozen=True)
class SourcePage:
    page_id: str
    page_no: int
    data: bytes  # the stored master, exactly as scanned
    side: str = "recto"
    rotation: int = 0  # clockwise, for display: becomes /Rotate
    dpi: int | None = None


@dataclass(frozen=True)
class CatalogPlace:
    """Where an item sits in the dossier: volume, catalog directory and its order."""

    volume: str  # "main" | "internal"
    catalog_dir: str
    catalog_seq: int  # position of the directory in its volume's catalog (0 = uncatalogued)
    order: int  # the item's position among the case's items in that directory, from 1

    def to_dict(self) -> dict:
        return {"volume": self.volume, "catalog_dir": self.catalog_dir, "catalog_seq": self.catalog_seq, "order": self.order}


@dataclass(frozen=True)
class DocumentMeta:
    item_id: str
    case_number: str
    item_name: str
    place: CatalogPlace

    @property
    def title(self) -> str:
        return f"{self.case_number} {VOLUME_NAMES.get(self.place.volume, self.place.volume)} {self.place.catalog_dir} {self.item_name}"

    @property
    def file_name(self) -> str:
        """`正卷_03起诉状_01_民事起诉状.pdf`: sorts in catalog order inside the case's folder."""
        p = self.place
        parts = (VOLUME_NAMES.get(p.volume, p.volume), f"{p.catalog_seq:02d}{p.catalog_dir or '未编目'}", f"{p.order:02d}", self.item_name)
        return "_".join(_UNSAFE.sub("", s) for s in parts) + ".pdf"


@dataclass(frozen=True)
class Assembled:
    pdf: bytes
    page_ids: tuple[str, ...]
    stamped_over_content: tuple[int, ...]  # page numbers whose page had no blank margin
    searchable: bool


def assemble(pages: Sequence[SourcePage], meta: DocumentMeta, texts: Mapping[str, PageText] | None = None) -> Assembled:
    """The item's PDF; `texts` (page id → OCR result) adds the invisible text layer."""
    if not pages:
        raise AppError(ErrorCode.DOCUMENT_EMPTY, item_id=meta.item_id)
    base = pikepdf.open(io.BytesIO(_images_pdf(pages)))
    font = textlayer.add_font(base) if texts else None
    over = []
    for page, src in zip(base.pages, pages):
        info = stamp.StampInfo(meta.item_id, src.page_no, len(pages), meta.case_number, src.side)
        if _overlay(base, page, src, info, texts.get(src.page_id) if texts else None, font):
            over.append(src.page_no)
    _metadata(base, meta)
    out = io.BytesIO()
    base.save(out, deterministic_id=True, compress_streams=True)
    return Assembled(out.getvalue(), tuple(p.page_id for p in pages), tuple(over), bool(texts))


def _images_pdf(pages: Sequence[SourcePage]) -> bytes:
    try:
        return img2pdf.convert([p.data for p in pages], layout_fun=_layout, rotation=img2pdf.Rotation.none, nodate=True)
    except (img2pdf.ImageOpenError, img2pdf.AlphaChannelError, ValueError) as exc:
        raise AppError(ErrorCode.DOCUMENT_BUILD_FAILED, detail=str(exc)) from exc


def _layout(width_px: int, height_px: int, ndpi: tuple[float, float]) -> tuple[float, float, float, float]:
    if min(ndpi) >= MIN_DPI:
        w, h = width_px * 72 / ndpi[0], height_px * 72 / ndpi[1]
    else:
        w, h = A4_WIDTH_PT, A4_WIDTH_PT * height_px / width_px
    return w, h, w, h


def _overlay(
    pdf: pikepdf.Pdf, page: pikepdf.Page, src: SourcePage, info: stamp.StampInfo, text: PageText | None, font: pikepdf.Object | None
) -> bool:
    rotation = src.rotation % 360
    if rotation not in ROTATIONS:
        raise AppError(ErrorCode.DOCUMENT_BUILD_FAILED, detail=f"rotation {src.rotation}")
    box = page.mediabox
    width, height = float(box[2]) - float(box[0]), float(box[3]) - float(box[1])
    disp_w, disp_h = (height, width) if rotation in (90, 270) else (width, height)
    placement = stamp.place(stamp.ink_mask(display_image(src)), disp_w, disp_h, stamp.stamp_size_mm(info), src.side)
    ops = stamp.stamp_ops(info, placement)
    if text is not None and font is not None:
        ops += textlayer.text_ops(text, disp_w, disp_h)
        page.add_resource(font, pikepdf.Name.Font, pikepdf.Name(textlayer.FONT_RESOURCE))
    page.contents_add(pdf.make_stream(f"q\n{_display_to_user(rotation, width, height)} cm\n{ops}Q\n".encode("ascii")))
    if rotation:
        page.obj.Rotate = rotation
    return placement.over_content


def _display_to_user(rotation: int, width: float, height: float) -> str:
    """The matrix taking display coordinates (after /Rotate, clockwise) to the page's own."""
    return {0: "1 0 0 1 0 0", 90: f"0 1 -1 0 {width:.3f} 0", 180: f"-1 0 0 -1 {width:.3f} {height:.3f}", 270: f"0 -1 1 0 0 {height:.3f}"}[
        rotation
    ]


def display_image(src: SourcePage, draft_scale: int = 4) -> Image.Image:
    """The page as a person sees it (rotation applied), decoded small where the format allows."""
    img = Image.open(io.BytesIO(src.data))
    full_width, dpi = img.width, img.info.get("dpi")
    if img.format == "JPEG":
        img.draft("L", (img.width // draft_scale, img.height // draft_scale))
    gray = img.convert("L")
    reduction = full_width / gray.width
    if src.rotation % 360:
        gray = gray.rotate(-(src.rotation % 360), expand=True)
    value = float(dpi[0]) if dpi and dpi[0] else float(src.dpi or 300)
    gray.info["dpi"] = (value / reduction, value / reduction)
    return gray


def _metadata(pdf: pikepdf.Pdf, meta: DocumentMeta) -> None:
    pdf.docinfo[pikepdf.Name.Title] = meta.title
    pdf.docinfo[pikepdf.Name.Subject] = f"{meta.item_id} {meta.file_name}"
    pdf.docinfo[pikepdf.Name.Creator] = "卷宗 Juanzong"
    pdf.docinfo[pikepdf.Name.Keywords] = f"{meta.case_number};{meta.place.catalog_dir};{meta.item_id}"
