"""What went wrong with a scanner file, in words an operator can act on.

Decoders raise their own exceptions (Pillow's `UnidentifiedImageError` quotes
a `<_io.BytesIO object at 0x…>`, libtiff and qpdf speak English). None of that
text may reach the screen: each failure becomes an `AppError` with a stable
code and a fixed Chinese reason built from what we know about the file (its
format, compression, colour model), and the library's own words go to the log
only. `INGEST_FAILED` is left for our own bugs (edge.appliance).
"""

from __future__ import annotations

import ctypes
import logging
import struct
import zlib
from pathlib import Path

from PIL import (
    Image,
    _imaging,  # noqa: F401 - maps the libtiff this process decodes with
)

from juanzong.shared.errors import AppError, ErrorCode

log = logging.getLogger("juanzong.decode")


def silence_libtiff() -> bool:
    """Stop libtiff printing on the operator's terminal ("Fax3Decode1D: Bad code word…").

    libtiff's default handlers write English to stderr for every damaged line; Pillow
    still gets the failure as a return code and we turn it into a Chinese reason.
    The handlers are process-wide, set on the libtiff actually mapped into this
    process (Pillow's bundled copy or Debian's). Returns False when none is found."""
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return False
    paths = sorted({line.split()[-1] for line in maps if "/libtiff" in line and ".so" in line})
    for path in paths:
        lib = ctypes.CDLL(path)
        for setter in (lib.TIFFSetErrorHandler, lib.TIFFSetWarningHandler):
            setter.restype, setter.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
            setter(None)
    return bool(paths)


silence_libtiff()

# Codes that mean "the file itself cannot become pages": quarantine it.
FILE_FAULTS = frozenset(
    {
        ErrorCode.FILE_UNREADABLE,
        ErrorCode.FILE_TRUNCATED,
        ErrorCode.FILE_UNSUPPORTED,
        ErrorCode.FILE_TOO_LARGE,
        ErrorCode.FILE_EMPTY,
        ErrorCode.FILE_SIZE_TOO_LARGE,
        ErrorCode.FILE_TYPE_NOT_ACCEPTED,
        ErrorCode.FILE_NEVER_COMPLETE,
        ErrorCode.FILE_ENCRYPTED,
        ErrorCode.FILE_NOT_A_SCAN,
        ErrorCode.FILE_LAYERED_PDF,
        ErrorCode.FILE_PDF_LAYOUT,
        ErrorCode.FILE_PIXEL_FORMAT,
        ErrorCode.FILE_COMPRESSION,
        ErrorCode.FILE_DECODER_MISSING,
        ErrorCode.FILE_MEMORY_LIMIT,
    }
)

FORMAT_NAMES = {
    "jpeg": "JPEG 图像",
    "tiff": "TIFF 图像",
    "bigtiff": "BigTIFF 图像",
    "png": "PNG 图像",
    "pdf": "PDF 文档",
    "jp2": "JPEG 2000 图像",
}

TIFF_COMPRESSIONS = {
    1: "无压缩",
    2: "CCITT 一维（修正霍夫曼）",
    3: "CCITT G3 传真",
    4: "CCITT G4 传真",
    5: "LZW",
    6: "旧式 JPEG（TIFF 压缩方式 6）",
    7: "JPEG",
    8: "Deflate",
    32946: "Deflate",
    32773: "PackBits",
    34661: "JBIG",
    34712: "JPEG 2000",
    34887: "LERC",
    34925: "LZMA",
    50000: "Zstandard",
    50001: "WebP",
    34676: "SGILog",
    34677: "SGILog24",
    32809: "ThunderScan",
    32895: "IT8",
}
TIFF_PHOTOMETRICS = {
    0: "黑白/灰度（白为 0）",
    1: "黑白/灰度",
    2: "RGB 彩色",
    3: "调色板彩色",
    4: "透明蒙版",
    5: "CMYK 分色",
    6: "YCbCr 彩色",
    8: "CIELAB 彩色",
    9: "ICC LAB 彩色",
    10: "ITU LAB 彩色",
    32803: "相机原始数据（CFA）",
    32844: "LogL",
    32845: "LogLuv",
    34892: "线性原始数据",
}
PDF_FILTERS = {
    "/DCTDecode": "JPEG",
    "/JPXDecode": "JPEG 2000",
    "/JBIG2Decode": "JBIG2",
    "/CCITTFaxDecode": "CCITT 传真",
    "/FlateDecode": "Flate",
    "/LZWDecode": "LZW",
    "/RunLengthDecode": "RunLength",
    "/Crypt": "加密过滤器",
}
# what Pillow's own image modes mean, for the operator
MODE_NAMES = {
    "1": "黑白",
    "L": "8 位灰度",
    "LA": "带透明通道的灰度",
    "P": "调色板彩色",
    "PA": "带透明通道的调色板",
    "RGB": "RGB 彩色",
    "RGBA": "带透明通道的 RGB",
    "CMYK": "CMYK 分色",
    "YCbCr": "YCbCr 彩色",
    "LAB": "CIELAB 彩色",
    "I;16": "16 位灰度",
    "I;16B": "16 位灰度",
    "I;16L": "16 位灰度",
    "I": "32 位整数灰度",
    "F": "32 位浮点灰度",
    "I;16S": "16 位有符号灰度",
}
UNSUPPORTED_MODES = {"I;16S", "HSV"}

TRUNCATION = (EOFError, struct.error, zlib.error)


def refuse(code: ErrorCode, name: str, exc: BaseException | None = None, **params) -> AppError:
    """An AppError for the screen; the library's text, if any, only in the log."""
    if exc is not None:
        log.info("decode %s: %s (%s: %s)", name, code, type(exc).__name__, exc)
    return AppError(code, name=name, **params)


def pillow_error(name: str, exc: BaseException, *, what: str = "") -> AppError:
    """A Pillow/libtiff/openjpeg failure while opening or decoding `name`.

    `what` names the compression or colour model when the caller knows it, so
    an unsupported one reads as such rather than as damage.
    """
    text = str(exc).lower()
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return refuse(ErrorCode.FILE_TOO_LARGE, name, exc, pixels="?", limit="?")
    if isinstance(exc, TRUNCATION) or "truncated" in text or "premature end" in text:
        return refuse(ErrorCode.FILE_TRUNCATED, name, exc)
    if "not available" in text or "unsupported" in text and "compress" in text:
        return refuse(ErrorCode.FILE_COMPRESSION, name, exc, detail=what or "未知压缩方式")
    if isinstance(exc, (SyntaxError, KeyError)) or "mode" in text or "not supported" in text:
        return refuse(ErrorCode.FILE_PIXEL_FORMAT, name, exc, detail=what or "未知像素格式")
    if isinstance(exc, Image.UnidentifiedImageError):
        return refuse(ErrorCode.FILE_UNREADABLE, name, exc, detail="文件内容无法识别为图像")
    return refuse(ErrorCode.FILE_UNREADABLE, name, exc, detail=f"{what + '：' if what else ''}图像数据已损坏，无法解码")


def megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"
