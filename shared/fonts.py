"""The CJK font provider: one list of where fonts live, one lookup, for every renderer.

Cover sheets, receipts, generated pages (Pillow) and PDFs (reportlab: custody
register, sampling report, and the text layer of searchable PDFs) all take their
Chinese font from here. `JUANZONG_CJK_FONT` names a font file that wins over the
list; a machine without any gets AppError(FONT_MISSING) naming where we looked
(Debian: `fonts-wqy-microhei`, in the Makefile's DEBS).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from juanzong.shared.errors import AppError, ErrorCode

ENV = "JUANZONG_CJK_FONT"
CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # Debian/Ubuntu fonts-wqy-microhei
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),  # Fedora/Arch
    Path("/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),  # fonts-noto-cjk
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
)
PDF_FONT_NAME = "JuanzongCJK"


def find_cjk_font(candidates: Sequence[Path] = CANDIDATES) -> Path:
    """The font file to use: $JUANZONG_CJK_FONT, else the first installed candidate."""
    env = os.environ.get(ENV)
    for path in ([Path(env)] if env else []) + list(candidates):
        if path.is_file():
            return path
    raise AppError(ErrorCode.FONT_MISSING, paths="、".join(str(p) for p in candidates))


@lru_cache(maxsize=64)
def pillow_font(size: int, *, basic_layout: bool = True, path: Path | None = None) -> ImageFont.FreeTypeFont:
    """A Pillow font of `size` px (index 0 of a collection: Micro Hei, Noto Sans CJK SC …).

    basic_layout: Pillow's BASIC engine — CJK needs no shaping and it is ~1.5× faster than raqm."""
    engine = ImageFont.Layout.BASIC if basic_layout else None
    return ImageFont.truetype(str(path or find_cjk_font()), size, index=0, layout_engine=engine)


def pdf_font() -> str:
    """The reportlab font name of the CJK font, registered on first use."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if PDF_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(PDF_FONT_NAME, str(find_cjk_font()), subfontIndex=0))
    return PDF_FONT_NAME
