"""A corpus of real-format scanner files, generated at test time.

Every class of file a scanner or a PDF tool writes (issue 8, point 1): built
with Pillow, libtiff's own tools (`tiffcp`, `tiff2bw`, Debian libtiff-tools),
img2pdf, pikepdf, and by hand where no tool on this machine writes the format
(old-style JPEG TIFF, 48-bit TIFF/PNG, a JBIG2 generic region — jbig2enc is not
packaged for Debian 12 — so its MMR-coded region is written from a G4 strip).
Each `Case` says what ingest must make of the file: `Pages` (how many, their
format and mode, whether the stored bytes are the file's own, and the pixels
each stored page must decode to) or `Refused` (the stable code).
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import img2pdf
import numpy as np
import pikepdf
from PIL import Image, ImageDraw, ImageOps

from juanzong.edge.tooling.pages import bilevel_page, plain_page

# --------------------------------------------------------------------------- pictures
# pages come from the one page generator (edge/tooling/pages.py)


def saved(img: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


# --------------------------------------------------------------------------- hand-made TIFFs


def tiff_by_hand(
    width: int, height: int, tags: dict[int, tuple[int, list | bytes]], strips: list[bytes], extra_blocks: dict[int, bytes] | None = None
) -> bytes:
    """A little-endian classic TIFF with these tags ({tag: (type, values)}) and strips.

    `extra_blocks` maps a tag to bytes stored in the file whose offset becomes the
    tag's value (old-style JPEG's JPEGInterchangeFormat)."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    offsets = []
    for s in strips:
        offsets.append(len(out))
        out += s + (b"\x00" if len(s) % 2 else b"")
    block_at = {}
    for tag, block in (extra_blocks or {}).items():
        block_at[tag] = len(out)
        out += block + (b"\x00" if len(block) % 2 else b"")
    tags = dict(tags)
    tags[256], tags[257] = (4, [width]), (4, [height])
    tags[273], tags[279] = (4, offsets), (4, [len(s) for s in strips])
    tags.setdefault(278, (4, [height]))
    for tag, at in block_at.items():
        tags[tag] = (4, [at])
    ifd = len(out)
    out[4:8] = struct.pack("<I", ifd)
    extra_at = ifd + 2 + 12 * len(tags) + 4
    body, extra = bytearray(struct.pack("<H", len(tags))), bytearray()
    codes = {1: "B", 2: "B", 3: "H", 4: "I", 5: "I", 7: "B"}
    for tag in sorted(tags):
        typ, values = tags[tag]
        raw = values if isinstance(values, bytes) else struct.pack(f"<{len(values)}{codes[typ]}", *values)
        count = len(raw) // {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1}[typ]
        if len(raw) <= 4:
            value = raw.ljust(4, b"\x00")
        else:
            value = struct.pack("<I", extra_at + len(extra))
            extra += raw + (b"\x00" if len(raw) % 2 else b"")
        body += struct.pack("<HHI", tag, typ, count) + value
    body += b"\x00\x00\x00\x00"
    return bytes(out + body + extra)


def _res(dpi: int) -> dict:
    return {282: (5, [dpi, 1]), 283: (5, [dpi, 1]), 296: (3, [2])}


def tiff_rgb48(img: Image.Image) -> bytes:
    """16 bits per channel RGB, uncompressed (what a scanner's 48-bit mode writes)."""
    arr = np.asarray(img.convert("RGB")).astype("<u2") * 257
    return tiff_by_hand(
        img.width, img.height, {258: (3, [16, 16, 16]), 259: (3, [1]), 262: (3, [2]), 277: (3, [3]), **_res(300)}, [arr.tobytes()]
    )


def tiff_old_jpeg(img: Image.Image) -> bytes:
    """Old-style JPEG (compression 6) with its whole JFIF stream behind JPEGInterchangeFormat,
    the variant libtiff reads; the one strip is the same stream (it starts right after the header)."""
    grey = img.convert("L")
    jfif = saved(grey, "JPEG", quality=90)
    return tiff_by_hand(
        grey.width,
        grey.height,
        {258: (3, [8]), 259: (3, [6]), 262: (3, [1]), 277: (3, [1]), 513: (4, [8]), 514: (4, [len(jfif)]), **_res(300)},
        [jfif],
    )


def png_rgb48(img: Image.Image) -> bytes:
    """A 16-bit-per-channel RGB PNG, written chunk by chunk (Pillow cannot write one)."""
    arr = np.asarray(img.convert("RGB")).astype(">u2") * 257
    rows = b"".join(b"\x00" + arr[y].tobytes() for y in range(arr.shape[0]))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", img.width, img.height, 16, 2, 0, 0, 0)
    phys = struct.pack(">IIB", 11811, 11811, 1)  # 300 dpi in pixels per metre
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"pHYs", phys) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def grey16(img: Image.Image) -> Image.Image:
    arr = np.asarray(img.convert("L")).astype("<u2") * 257
    return Image.frombytes("I;16", img.size, arr.tobytes())


def with_thumbnail(page: bytes) -> bytes:
    """A TIFF whose second directory is a reduced-resolution thumbnail (NewSubfileType = 1)."""
    full = Image.open(io.BytesIO(page))
    thumb = full.convert("RGB").reduce(8)
    frames = io.BytesIO()
    full.convert("RGB").save(frames, "TIFF", compression="tiff_lzw", save_all=True, append_images=[thumb], dpi=(300, 300))
    data = bytearray(frames.getvalue())
    second = _ifd_offsets(bytes(data))[1]
    count = struct.unpack("<H", data[second : second + 2])[0]
    entries = [data[second + 2 + 12 * i : second + 14 + 12 * i] for i in range(count)]
    assert struct.unpack("<H", entries[0][:2])[0] > 254  # Pillow writes no 254: add it
    # replace the first entry's slot is not possible; rebuild this directory at the end instead
    new_entries = sorted(entries + [struct.pack("<HHII", 254, 4, 1, 1)], key=lambda e: struct.unpack("<H", e[:2])[0])
    at = len(data) + (len(data) % 2)
    data += b"\x00" * (len(data) % 2)
    data += struct.pack("<H", len(new_entries)) + b"".join(new_entries) + b"\x00\x00\x00\x00"
    first = _ifd_offsets(bytes(data))[0]
    first_count = struct.unpack("<H", data[first : first + 2])[0]
    data[first + 2 + 12 * first_count : first + 6 + 12 * first_count] = struct.pack("<I", at)
    return bytes(data)


def _ifd_offsets(data: bytes) -> list[int]:
    offsets, at = [], struct.unpack("<I", data[4:8])[0]
    while at:
        offsets.append(at)
        count = struct.unpack("<H", data[at : at + 2])[0]
        at = struct.unpack("<I", data[at + 2 + 12 * count : at + 6 + 12 * count])[0]
    return offsets


# --------------------------------------------------------------------------- libtiff tools


def have_libtiff_tools() -> bool:
    return shutil.which("tiffcp") is not None and shutil.which("tiff2bw") is not None


def tiffcp(inputs: list[bytes], *options: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, data in enumerate(inputs):
            p = Path(tmp) / f"in{i}.tif"
            p.write_bytes(data)
            paths.append(str(p))
        out = Path(tmp) / "out.tif"
        subprocess.run(["tiffcp", *options, *paths, str(out)], check=True, capture_output=True)
        return out.read_bytes()


def tiff2bw(data: bytes) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.tif", Path(tmp) / "out.tif"
        src.write_bytes(data)
        subprocess.run(["tiff2bw", "-c", "lzw", str(src), str(out)], check=True, capture_output=True)
        return out.read_bytes()


# --------------------------------------------------------------------------- PDFs


def pdf_bytes(pdf: pikepdf.Pdf, **kw) -> bytes:
    out = io.BytesIO()
    pdf.save(out, **kw)
    return out.getvalue()


def pdf_with(draw: Callable[[pikepdf.Pdf], tuple[dict, bytes, tuple[float, float]]]) -> bytes:
    """One page: `draw` returns (XObject resources, content stream, page size in points)."""
    pdf = pikepdf.new()
    xobjects, content, (w, h) = draw(pdf)
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, w, h],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(xobjects)),
        Contents=pikepdf.Stream(pdf, content),
    )
    pdf.pages.append(pikepdf.Page(page))
    return pdf_bytes(pdf)


def _image_stream(pdf: pikepdf.Pdf, img: Image.Image, **extra) -> pikepdf.Stream:
    space = {"L": pikepdf.Name.DeviceGray, "RGB": pikepdf.Name.DeviceRGB, "CMYK": pikepdf.Name.DeviceCMYK}[img.mode]
    return pikepdf.Stream(
        pdf,
        zlib.compress(img.tobytes()),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=img.width,
        Height=img.height,
        ColorSpace=space,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
        **extra,
    )


def _points(img: Image.Image, dpi: int = 150) -> tuple[float, float]:
    return img.width * 72 / dpi, img.height * 72 / dpi


def pdf_form_image(img: Image.Image) -> bytes:
    """The scan drawn through a Form XObject (some capture tools wrap every page so)."""

    def draw(pdf):
        w, h = _points(img)
        form = pikepdf.Stream(
            pdf,
            b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Form,
            BBox=[0, 0, w, h],
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=_image_stream(pdf, img))),
        )
        return {"/Fm0": form}, b"q /Fm0 Do Q", (w, h)

    return pdf_with(draw)


def pdf_inline_image(img: Image.Image) -> bytes:
    """The scan as an inline image (BI … ID … EI) in the page's content."""

    def draw(pdf):
        w, h = _points(img)
        cs = {"L": b"/G", "RGB": b"/RGB"}[img.mode]
        data = zlib.compress(img.tobytes())
        content = b"q %f 0 0 %f 0 0 cm\nBI /W %d /H %d /CS %s /BPC 8 /F /Fl ID " % (w, h, img.width, img.height, cs) + data + b"\nEI Q"
        return {}, content, (w, h)

    return pdf_with(draw)


def pdf_smask(img: Image.Image, mask_size: tuple[int, int] | None = None) -> bytes:
    """An image with a soft mask: of its own size (kept as alpha) or another (layered)."""

    def draw(pdf):
        w, h = _points(img)
        alpha = Image.new("L", mask_size or img.size, 255)
        ImageDraw.Draw(alpha).rectangle((0, 0, alpha.width // 4, alpha.height // 4), fill=0)
        smask = _image_stream(pdf, alpha)
        return {"/Im0": _image_stream(pdf, img, SMask=smask)}, b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h), (w, h)

    return pdf_with(draw)


def pdf_stencil(bits: Image.Image, fill: bytes = b"0 g") -> bytes:
    """A bilevel page written as a stencil mask (/ImageMask) painted in the fill colour."""

    def draw(pdf):
        w, h = _points(bits, 300)
        packed = bits.convert("1").tobytes()  # Pillow: 1 = white; a stencil paints where the sample is 0
        mask = pikepdf.Stream(
            pdf,
            zlib.compress(packed),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=bits.width,
            Height=bits.height,
            ImageMask=True,
            Filter=pikepdf.Name.FlateDecode,
        )
        return {"/Im0": mask}, fill + b" q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h), (w, h)

    return pdf_with(draw)


def pdf_mrc(background: Image.Image, text: Image.Image) -> bytes:
    """Layered (MRC) compression: a low-resolution colour background under a full-resolution stencil."""

    def draw(pdf):
        w, h = _points(text, 300)
        bg = _image_stream(pdf, background)
        mask = pikepdf.Stream(
            pdf,
            zlib.compress(text.convert("1").tobytes()),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=text.width,
            Height=text.height,
            ImageMask=True,
            Filter=pikepdf.Name.FlateDecode,
        )
        content = b"q %f 0 0 %f 0 0 cm /Bg Do Q 0 g q %f 0 0 %f 0 0 cm /Fg Do Q" % (w, h, w, h)
        return {"/Bg": bg, "/Fg": mask}, content, (w, h)

    return pdf_with(draw)


def pdf_quarter_turn(img: Image.Image) -> bytes:
    """A portrait scan drawn turned a quarter by the content stream (landscape page)."""

    def draw(pdf):
        w, h = _points(img)
        return {"/Im0": _image_stream(pdf, img)}, b"q 0 %f %f 0 0 0 cm /Im0 Do Q" % (-w, h), (h, w)

    # matrix [0 -w h 0 0 0] puts the image's top edge on the left, turned clockwise
    return pdf_with(draw)


def pdf_skewed(img: Image.Image) -> bytes:
    def draw(pdf):
        w, h = _points(img)
        return {"/Im0": _image_stream(pdf, img)}, b"q %f 10 -10 %f 20 20 cm /Im0 Do Q" % (w, h), (w + 40, h + 40)

    return pdf_with(draw)


def pdf_separation(img: Image.Image) -> bytes:
    def draw(pdf):
        w, h = _points(img)
        tint = pikepdf.Dictionary(FunctionType=2, Domain=[0, 1], C0=[0, 0, 0, 0], C1=[0, 1, 1, 0], N=1)
        space = pikepdf.Array([pikepdf.Name.Separation, pikepdf.Name("/Red"), pikepdf.Name.DeviceCMYK, tint])
        im = pikepdf.Stream(
            pdf,
            zlib.compress(img.convert("L").tobytes()),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=img.width,
            Height=img.height,
            ColorSpace=space,
            BitsPerComponent=8,
            Filter=pikepdf.Name.FlateDecode,
        )
        return {"/Im0": im}, b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h), (w, h)

    return pdf_with(draw)


def pdf_cmyk_flate(img: Image.Image) -> bytes:
    def draw(pdf):
        w, h = _points(img)
        return {"/Im0": _image_stream(pdf, img.convert("CMYK"))}, b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h), (w, h)

    return pdf_with(draw)


def pdf_grey16(img: Image.Image) -> bytes:
    def draw(pdf):
        w, h = _points(img)
        arr = np.asarray(img.convert("L")).astype(">u2") * 257
        im = pikepdf.Stream(
            pdf,
            zlib.compress(arr.tobytes()),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=img.width,
            Height=img.height,
            ColorSpace=pikepdf.Name.DeviceGray,
            BitsPerComponent=16,
            Filter=pikepdf.Name.FlateDecode,
        )
        return {"/Im0": im}, b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h), (w, h)

    return pdf_with(draw)


def pdf_encrypted(img: Image.Image) -> bytes:
    pdf = pikepdf.open(io.BytesIO(img2pdf.convert([saved(img, "JPEG", dpi=(150, 150))])))
    return pdf_bytes(pdf, encryption=pikepdf.Encryption(owner="court", user="secret", R=6))


# --------------------------------------------------------------------------- JBIG2


def jbig2_generic_mmr(bits: Image.Image) -> bytes:
    """A JBIG2 embedded stream (as PDF carries it): page information, one immediate
    lossless generic region coded with MMR (T.6: the G4 code, taken from libtiff's
    own G4 strip of the same bits), end of page."""
    # Pillow writes G4 as MinIsBlack: a fax "white" run is a 0 bit, i.e. black. JBIG2 has
    # 0 = white, so the bits are inverted first and the code's white runs are paper.
    g4 = saved(ImageOps.invert(bits.convert("L")).convert("1"), "TIFF", compression="group4")
    tif = Image.open(io.BytesIO(g4))
    offset, length = tif.tag_v2[273][0], tif.tag_v2[279][0]
    mmr = g4[offset : offset + length]
    w, h = bits.size

    def segment(number: int, kind: int, data: bytes) -> bytes:
        return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data

    page_info = struct.pack(">IIIIBH", w, h, 0, 0, 0, 0)
    region = struct.pack(">IIIIB", w, h, 0, 0, 0) + bytes([0x01])  # flags: MMR = 1
    return segment(0, 48, page_info) + segment(1, 39, region + mmr) + segment(2, 49, b"")


def pdf_ccitt(bits: Image.Image, k: int) -> bytes:
    """A fax PDF: the CCITT data of a TIFF strip (K=0: G3 one-dimensional, K<0: G4) as the page's image."""
    tif = saved(bits, "TIFF", compression="group3" if k >= 0 else "group4")
    tags = Image.open(io.BytesIO(tif)).tag_v2
    strip = b"".join(tif[o : o + c] for o, c in zip(tags[273], tags[279]))

    def draw(pdf):
        w, h = _points(bits, 300)
        parms = pikepdf.Dictionary(K=k, Columns=bits.width, Rows=bits.height, BlackIs1=tags.get(262) == 1)
        im = pikepdf.Stream(
            pdf,
            strip,
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=bits.width,
            Height=bits.height,
            ColorSpace=pikepdf.Name.DeviceGray,
            BitsPerComponent=1,
            Filter=pikepdf.Name.CCITTFaxDecode,
            DecodeParms=parms,
        )
        return {"/Im0": im}, b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h), (w, h)

    return pdf_with(draw)


def pdf_jbig2(bits: Image.Image) -> bytes:
    def draw(pdf):
        w, h = _points(bits, 300)
        im = pikepdf.Stream(
            pdf,
            jbig2_generic_mmr(bits),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=bits.width,
            Height=bits.height,
            ColorSpace=pikepdf.Name.DeviceGray,
            BitsPerComponent=1,
            Filter=pikepdf.Name.JBIG2Decode,
        )
        return {"/Im0": im}, b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h), (w, h)

    return pdf_with(draw)


# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Pages:
    count: int
    fmt: str
    mode: str  # "*": pages differ
    own_bytes: bool = False  # the stored page is the file's bytes, unchanged
    pixels: tuple[Image.Image, ...] = ()  # what each stored page must decode to (same order)
    dpi: int | None = None


@dataclass(frozen=True)
class Refused:
    code: str
    words: str = ""  # a phrase the Chinese reason must contain


@dataclass(frozen=True)
class Case:
    name: str  # the class, e.g. "tiff-g4"
    filename: str
    data: bytes
    expect: Pages | Refused
    needs: tuple[str, ...] = field(default=())  # programs the case needs ("tiffcp", "jbig2dec")


def cases() -> list[Case]:
    doc, bw = plain_page(1), bilevel_page(2)
    g4 = saved(bw, "TIFF", compression="group4", dpi=(300, 300))
    out: list[Case] = [
        Case("jpeg-rgb", "scan_0001.jpg", saved(doc, "JPEG", quality=90, dpi=(300, 300)), Pages(1, "jpeg", "RGB", True, dpi=300)),
        Case("jpeg-grey", "scan_0002.jpg", saved(doc.convert("L"), "JPEG", dpi=(300, 300)), Pages(1, "jpeg", "L", True)),
        Case("jpeg-cmyk", "scan_0003.jpg", saved(doc.convert("CMYK"), "JPEG", dpi=(300, 300)), Pages(1, "jpeg", "CMYK", True)),
        Case("jpeg-progressive", "scan_0004.jpg", saved(doc, "JPEG", progressive=True, dpi=(300, 300)), Pages(1, "jpeg", "RGB", True)),
        Case("png-palette", "scan_0010.png", saved(doc.quantize(64), "PNG", dpi=(300, 300)), Pages(1, "png", "P", True)),
        Case("png-palette-transparent", "scan_0011.png", saved(doc.quantize(64), "PNG", transparency=0), Pages(1, "png", "P", True)),
        Case("png-rgba", "scan_0012.png", saved(doc.convert("RGBA"), "PNG", dpi=(300, 300)), Pages(1, "png", "RGBA", True)),
        Case("png-la", "scan_0013.png", saved(doc.convert("LA"), "PNG"), Pages(1, "png", "LA", True)),
        Case("png-16bit-grey", "scan_0014.png", saved(grey16(doc), "PNG", dpi=(300, 300)), Pages(1, "png", "I;16", True)),
        Case("png-48bit", "scan_0015.png", png_rgb48(doc), Pages(1, "png", "RGB", True, dpi=300)),
        Case("tiff-g4", "scan_0020.tif", g4, Pages(1, "tiff", "1", True, (bw,), dpi=300)),
        Case(
            "tiff-g3", "scan_0021.tif", saved(bw, "TIFF", compression="group3", dpi=(204, 196)), Pages(1, "tiff", "1", True, (bw,), dpi=196)
        ),
        Case(
            "tiff-lzw-rgb",
            "scan_0022.tif",
            saved(doc, "TIFF", compression="tiff_lzw", dpi=(300, 300)),
            Pages(1, "tiff", "RGB", True, (doc,)),
        ),
        Case("tiff-jpeg", "scan_0023.tif", saved(doc, "TIFF", compression="jpeg", dpi=(300, 300)), Pages(1, "tiff", "RGB", True)),
        Case("tiff-old-jpeg", "scan_0024.tif", tiff_old_jpeg(doc), Pages(1, "jpeg", "L", False, dpi=300)),
        Case("tiff-16bit-grey", "scan_0025.tif", saved(grey16(doc), "TIFF", compression="tiff_lzw"), Pages(1, "tiff", "I;16", True)),
        Case("tiff-48bit-rgb", "scan_0026.tif", tiff_rgb48(doc), Pages(1, "tiff", "RGB", True, (doc,))),
        Case("tiff-cmyk", "scan_0027.tif", saved(doc.convert("CMYK"), "TIFF", compression="tiff_lzw"), Pages(1, "tiff", "CMYK", True)),
        Case("tiff-cielab", "scan_0028.tif", saved(doc.convert("LAB"), "TIFF"), Pages(1, "tiff", "LAB", True)),
        Case("tiff-palette", "scan_0029.tif", saved(doc.quantize(32), "TIFF", compression="tiff_lzw"), Pages(1, "tiff", "P", True)),
        Case("tiff-rgba", "scan_0030.tif", saved(doc.convert("RGBA"), "TIFF", compression="tiff_lzw"), Pages(1, "tiff", "RGBA", True)),
        Case(
            "bigtiff",
            "scan_0031.tif",
            saved(doc, "TIFF", compression="tiff_lzw", big_tiff=True, dpi=(300, 300)),
            Pages(1, "tiff", "RGB", True, (doc,)),
        ),
        Case(
            "bigtiff-multipage",
            "scan_0032.tif",
            saved(bw, "TIFF", compression="group4", big_tiff=True, save_all=True, append_images=[bilevel_page(3), bilevel_page(4)]),
            Pages(3, "tiff", "1", False, (bw, bilevel_page(3), bilevel_page(4))),
        ),
        Case(
            "tiff-multipage-jpeg",
            "scan_0033.tif",
            saved(doc, "TIFF", compression="jpeg", save_all=True, append_images=[plain_page(5), plain_page(6)]),
            Pages(3, "tiff", "RGB", False),
        ),
        Case(
            "tiff-with-thumbnail",
            "scan_0034.tif",
            with_thumbnail(saved(doc, "TIFF", compression="tiff_lzw")),
            Pages(1, "tiff", "RGB", False, (doc,)),
        ),
        Case("jp2", "scan_0035.jp2", saved(doc, "JPEG2000"), Refused("FILE_TYPE_NOT_ACCEPTED", "JPEG 2000")),
        Case("gif", "scan_0036.gif", saved(doc.quantize(16), "GIF"), Refused("FILE_TYPE_NOT_ACCEPTED", "GIF")),
        Case("tiff-cut", "scan_0037.tif", g4[: len(g4) // 2], Refused("FILE_TRUNCATED")),
        Case("garbage-png", "scan_0038.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30 + b"IEND\xaeB`\x82", Refused("FILE_UNREADABLE")),
        # PDFs
        Case("pdf-jpeg", "scan_0040.pdf", img2pdf.convert([saved(doc, "JPEG", dpi=(150, 150))]), Pages(1, "jpeg", "RGB", dpi=150)),
        Case("pdf-ccitt", "scan_0041.pdf", img2pdf.convert([g4]), Pages(1, "tiff", "1", False, (bw,), dpi=300)),
        Case(
            "pdf-flate-png",
            "scan_0042.pdf",
            img2pdf.convert([saved(doc, "PNG", dpi=(200, 200))]),
            Pages(1, "tiff", "RGB", False, (doc,), dpi=200),
        ),
        Case("pdf-jpx", "scan_0043.pdf", img2pdf.convert([saved(doc, "JPEG2000")]), Pages(1, "jp2", "RGB")),
        Case("pdf-ccitt-g3", "scan_0058.pdf", pdf_ccitt(bw, 0), Pages(1, "tiff", "1", False, (bw,), dpi=300)),
        Case("pdf-jbig2", "scan_0044.pdf", pdf_jbig2(bw), Pages(1, "tiff", "1", False, (bw,), dpi=300), needs=("jbig2dec",)),
        Case("pdf-form", "scan_0045.pdf", pdf_form_image(doc), Pages(1, "tiff", "RGB", False, (doc,), dpi=150)),
        Case("pdf-inline", "scan_0046.pdf", pdf_inline_image(doc.convert("L")), Pages(1, "tiff", "L", False, (doc.convert("L"),))),
        Case("pdf-smask", "scan_0047.pdf", pdf_smask(doc), Pages(1, "tiff", "RGBA", False)),
        Case("pdf-smask-other-size", "scan_0048.pdf", pdf_smask(doc, (100, 141)), Refused("FILE_LAYERED_PDF", "蒙版")),
        Case("pdf-stencil", "scan_0049.pdf", pdf_stencil(bw), Pages(1, "tiff", "1", False, (bw,), dpi=300)),
        Case("pdf-stencil-red", "scan_0050.pdf", pdf_stencil(bw, b"1 0 0 rg"), Refused("FILE_LAYERED_PDF", "彩色")),
        Case("pdf-mrc", "scan_0051.pdf", pdf_mrc(doc.reduce(4), bilevel_page(7, doc.size)), Refused("FILE_LAYERED_PDF", "蒙版层")),
        Case(
            "pdf-quarter-turn",
            "scan_0052.pdf",
            pdf_quarter_turn(doc),
            Pages(1, "tiff", "RGB", False, (doc.transpose(Image.Transpose.ROTATE_270),)),
        ),
        Case("pdf-skewed", "scan_0053.pdf", pdf_skewed(doc), Refused("FILE_PDF_LAYOUT", "倾斜")),
        Case("pdf-separation", "scan_0054.pdf", pdf_separation(doc), Refused("FILE_PIXEL_FORMAT", "专色")),
        Case("pdf-cmyk-flate", "scan_0055.pdf", pdf_cmyk_flate(doc), Pages(1, "tiff", "CMYK", False, (doc.convert("CMYK"),))),
        Case("pdf-16bit-grey", "scan_0056.pdf", pdf_grey16(doc), Pages(1, "tiff", "I;16", False)),
        Case("pdf-encrypted", "scan_0057.pdf", pdf_encrypted(doc), Refused("FILE_ENCRYPTED")),
    ]
    if have_libtiff_tools():
        rgb = saved(doc, "TIFF", compression="tiff_lzw", dpi=(300, 300))
        out += [
            Case("tiffcp-g3-2d", "scan_0060.tif", tiffcp([g4], "-c", "g3:2d"), Pages(1, "tiff", "1", True, (bw,)), needs=("tiffcp",)),
            Case(
                "tiffcp-tiled",
                "scan_0061.tif",
                tiffcp([rgb], "-t", "-w", "128", "-l", "128", "-c", "zip"),
                Pages(1, "tiff", "RGB", True, (doc,)),
                needs=("tiffcp",),
            ),
            Case(
                "tiffcp-bigtiff",
                "scan_0062.tif",
                tiffcp([rgb], "-8", "-c", "lzw:2"),
                Pages(1, "tiff", "RGB", True, (doc,)),
                needs=("tiffcp",),
            ),
            Case(
                "tiffcp-multipage", "scan_0063.tif", tiffcp([g4, rgb, g4]), Pages(3, "tiff", "*", False, (bw, doc, bw)), needs=("tiffcp",)
            ),
            Case("tiff2bw", "scan_0064.tif", tiff2bw(rgb), Pages(1, "tiff", "L", True), needs=("tiff2bw",)),
        ]
    return out
