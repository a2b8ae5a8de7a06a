"""Decode: every page of a JPEG, TIFF or PDF source, complete or refused as a whole.

Real files built at test time: JPEGs from Pillow, multi-page TIFFs, PDFs the way
scanner drivers write them (img2pdf: one image per page), built by hand with
pikepdf (pages in strips, /Rotate) and by reportlab (a born-digital text page).
"""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib
from dataclasses import replace
from pathlib import Path

import img2pdf
import pikepdf
import pytest
from PIL import Image, ImageChops

from juanzong.edge.devices.profiles import get_scanner
from juanzong.edge.ingest import decode as dec
from juanzong.edge.ingest.context import Claimed, IngestContext
from juanzong.edge.ingest.faults import megabytes
from juanzong.edge.watch import complete
from juanzong.shared.crypto import sha256_hex
from juanzong.shared.errors import AppError, ErrorCode

MAX_PIXELS = 40_000_000


@pytest.fixture(scope="module")
def ctx() -> IngestContext:
    profile = replace(get_scanner("simulated"), file_types=("jpeg", "tiff", "png", "pdf"))
    return IngestContext(appliance_id="A1", profile=profile, keys=None, qc_rules=None, max_pixels=MAX_PIXELS, view=None)


def scan_like(seed: int, size=(620, 877), mode="RGB") -> Image.Image:
    """Noisy content (compresses like a scan, so a pixel slip would show)."""
    grey = Image.effect_noise(size, 30 + seed * 7).point(lambda v: min(255, v + 40))
    if mode == "RGB":
        return Image.merge("RGB", (grey, grey.rotate(90 * seed, expand=False), grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    return grey.convert(mode)


def jpeg(img: Image.Image, dpi: int = 150) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, dpi=(dpi, dpi))
    return out.getvalue()


def tiff(frames: list[Image.Image], dpi: int = 300) -> bytes:
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw", dpi=(dpi, dpi))
    return out.getvalue()


def g4(img: Image.Image, dpi: int = 300) -> bytes:
    out = io.BytesIO()
    img.convert("1").save(out, "TIFF", compression="group4", dpi=(dpi, dpi))
    return out.getvalue()


def png(img: Image.Image, dpi: int = 200) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", dpi=(dpi, dpi))
    return out.getvalue()


def run(tmp_path: Path, name: str, data: bytes, ctx: IngestContext):
    path = tmp_path / name
    path.write_bytes(data)
    return dec.decode_all(Claimed(claim="0001", path=path, source_name=name), ctx)


def refused(tmp_path: Path, name: str, data: bytes, ctx: IngestContext) -> AppError:
    with pytest.raises(AppError) as info:
        run(tmp_path, name, data, ctx)
    return info.value


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    if a.size != b.size:
        return False
    mode = "RGB" if "RGB" in (a.mode, b.mode) else "L"
    return ImageChops.difference(a.convert(mode), b.convert(mode)).getbbox() is None


def vector_pdf(text: str = "hello") -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(100, 700, text)
    c.rect(50, 50, 200, 100)
    c.showPage()
    c.save()
    return out.getvalue()


def save(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def strips_pdf(img: Image.Image, strips: int, dpi: int = 200) -> bytes:
    """One page drawn as horizontal RGB Flate strips, like some ADF drivers write it."""
    pdf, (w, h), pt = pikepdf.new(), img.size, 72 / dpi
    xobjects, ops, step = {}, [], -(-h // strips)
    for k, top in enumerate(range(0, h, step)):
        part = img.crop((0, top, w, min(h, top + step)))
        xobjects[f"/S{k}"] = pikepdf.Stream(
            pdf,
            zlib.compress(part.tobytes()),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=w,
            Height=part.height,
            ColorSpace=pikepdf.Name.DeviceRGB,
            BitsPerComponent=8,
            Filter=pikepdf.Name.FlateDecode,
        )
        ops.append(f"q {w * pt:.4f} 0 0 {part.height * pt:.4f} 0 {(h - top - part.height) * pt:.4f} cm /S{k} Do Q")
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, w * pt, h * pt],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(xobjects)),
        Contents=pikepdf.Stream(pdf, "\n".join(ops).encode()),
    )
    pdf.pages.append(pikepdf.Page(page))
    return save(pdf)


def ifd_offsets(data: bytes) -> list[int]:
    """Where each IFD of a little-endian TIFF starts (read independently of the code under test)."""
    offsets, at = [], struct.unpack("<I", data[4:8])[0]
    while at:
        offsets.append(at)
        count = struct.unpack("<H", data[at : at + 2])[0]
        at = struct.unpack("<I", data[at + 2 + 12 * count : at + 6 + 12 * count])[0]
    return offsets


# ---------------------------------------------------------------- PDF


def test_scanner_pdf_pages_keep_their_jpeg_bytes_in_order(tmp_path, ctx):
    jpegs = [jpeg(scan_like(i), dpi=150) for i in range(3)]
    pages = run(tmp_path, "scan.pdf", img2pdf.convert(jpegs), ctx)

    assert [p.index for p in pages] == [0, 1, 2]
    assert [p.data for p in pages] == jpegs  # passthrough: the master is not re-encoded
    assert [p.source_sha256 for p in pages] == [sha256_hex(j) for j in jpegs]
    assert {(p.fmt, p.width, p.height, p.dpi, p.mode) for p in pages} == {("jpeg", 620, 877, 150, "RGB")}
    assert len({p.page_id for p in pages}) == 3


def test_pdf_dpi_comes_from_the_page_size_not_the_jpeg_header(tmp_path, ctx):
    # the JPEG says 72 dpi; the page is A4-ish at 620 px → the scan is 75 dpi wide
    data = jpeg(scan_like(1), dpi=72)
    layout = img2pdf.get_fixed_dpi_layout_fun((75, 75))
    (page,) = run(tmp_path, "scan.pdf", img2pdf.convert([data], layout_fun=layout), ctx)
    assert page.data == data and page.dpi == 75


def test_searchable_pdf_text_layer_does_not_stop_passthrough(tmp_path, ctx):
    from reportlab.pdfgen import canvas

    data = jpeg(scan_like(2), dpi=150)
    src = tmp_path / "page.jpg"
    src.write_bytes(data)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(620 * 72 / 150, 877 * 72 / 150))
    c.drawImage(str(src), 0, 0, width=620 * 72 / 150, height=877 * 72 / 150)
    text = c.beginText(20, 20)
    text.setTextRenderMode(3)  # invisible OCR text over the scan
    text.textLine("民事起诉状")
    c.drawText(text)
    c.showPage()
    c.save()
    (page,) = run(tmp_path, "ocr.pdf", out.getvalue(), ctx)
    assert page.fmt == "jpeg" and page.data == data


def test_flate_and_ccitt_pages_are_extracted_losslessly(tmp_path, ctx):
    colour, bilevel = scan_like(3, (400, 560)), scan_like(4, (1000, 1400), mode="L").point(lambda v: 255 if v > 110 else 0)
    pages = run(tmp_path, "mixed.pdf", img2pdf.convert([png(colour), g4(bilevel)]), ctx)

    assert [(p.fmt, p.mode) for p in pages] == [("tiff", "RGB"), ("tiff", "1")]
    assert same_pixels(Image.open(io.BytesIO(pages[0].data)), colour)
    assert same_pixels(Image.open(io.BytesIO(pages[1].data)), bilevel.convert("1"))
    assert Image.open(io.BytesIO(pages[1].data)).info["compression"] == "group4"
    assert [p.dpi for p in pages] == [200, 300]
    assert [p.source_sha256 for p in pages] == [sha256_hex(p.data) for p in pages]


def test_fax_resolution_page_is_kept_as_it_is(tmp_path, ctx):
    # 204×98 dpi CCITT: not square pixels; extracted unchanged, the lower dpi reported
    fax = scan_like(7, (1728, 1100), mode="L").point(lambda v: 255 if v > 110 else 0).convert("1")
    (page,) = run(tmp_path, "fax.pdf", img2pdf.convert([g4(fax)], layout_fun=img2pdf.get_fixed_dpi_layout_fun((204, 98))), ctx)
    assert (page.width, page.height, page.dpi, page.mode) == (1728, 1100, 98, "1")
    assert same_pixels(Image.open(io.BytesIO(page.data)), fax)


def test_a_page_written_as_strips_is_reassembled_pixel_for_pixel(tmp_path, ctx):
    img = scan_like(5, (500, 701))
    (page,) = run(tmp_path, "strips.pdf", strips_pdf(img, strips=3), ctx)
    assert page.fmt == "tiff" and (page.width, page.height) == (500, 701) and page.dpi == 200
    assert same_pixels(Image.open(io.BytesIO(page.data)), img)


def test_page_rotate_is_applied_losslessly(tmp_path, ctx):
    data = jpeg(scan_like(6), dpi=150)
    pdf = pikepdf.open(io.BytesIO(img2pdf.convert([data])))
    pdf.pages[0].obj.Rotate = 90
    (page,) = run(tmp_path, "landscape.pdf", save(pdf), ctx)
    # shown turned clockwise: the stored page is what a reader sees, not the raw JPEG
    assert page.fmt == "tiff" and (page.width, page.height) == (877, 620)
    upright = Image.open(io.BytesIO(data)).transpose(Image.Transpose.ROTATE_270)
    assert same_pixels(Image.open(io.BytesIO(page.data)), upright)


def test_vector_only_pdf_is_refused_as_unsupported(tmp_path, ctx):
    err = refused(tmp_path, "letter.pdf", vector_pdf(), ctx)
    assert err.code == "FILE_NOT_A_SCAN" and "第 1 页没有扫描图像" in err.message


def test_one_vector_page_refuses_the_whole_pdf(tmp_path, ctx):
    pdf = pikepdf.open(io.BytesIO(img2pdf.convert([jpeg(scan_like(1)), jpeg(scan_like(2))])))
    letter = pikepdf.open(io.BytesIO(vector_pdf()))
    pdf.pages.insert(1, letter.pages[0])
    err = refused(tmp_path, "three.pdf", save(pdf), ctx)
    assert err.code == "FILE_NOT_A_SCAN" and "第 2 页" in err.message


@pytest.mark.parametrize("cut", [0.3, 0.5, 0.9, -12])
def test_pdf_cut_short_is_truncated_and_not_complete(tmp_path, ctx, cut):
    whole = img2pdf.convert([jpeg(scan_like(i)) for i in range(3)])
    data = whole[:cut] if cut < 0 else whole[: int(len(whole) * cut)]
    assert refused(tmp_path, "cut.pdf", data, ctx).code == "FILE_TRUNCATED"
    assert not complete.looks_complete(tmp_path / "cut.pdf")
    (tmp_path / "whole.pdf").write_bytes(whole)
    assert complete.looks_complete(tmp_path / "whole.pdf")


def test_pdf_with_pages_tree_first_cut_short_is_truncated(tmp_path, ctx):
    # reportlab writes pages before the images: qpdf recovery would find pages; we refuse
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    for i in range(3):
        src = tmp_path / f"p{i}.jpg"
        src.write_bytes(jpeg(scan_like(i)))
        c.drawImage(str(src), 0, 0, width=595, height=842)
        c.showPage()
    c.save()
    whole = out.getvalue()
    assert len(run(tmp_path, "whole.pdf", whole, ctx)) == 3
    assert refused(tmp_path, "cut.pdf", whole[: int(len(whole) * 0.8)], ctx).code == "FILE_TRUNCATED"


def test_pdf_is_refused_where_the_profile_does_not_list_it(tmp_path, ctx):
    no_pdf = replace(ctx, profile=get_scanner("simulated"))
    err = refused(tmp_path, "scan.pdf", img2pdf.convert([jpeg(scan_like(1))]), no_pdf)
    assert err.code == "FILE_TYPE_NOT_ACCEPTED" and "PDF 文档" in err.message and "JPEG 图像（.jpg/.jpeg）" in err.message


# ---------------------------------------------------------------- TIFF


def test_multi_page_tiff_becomes_one_page_per_frame_in_order(tmp_path, ctx):
    frames = [
        scan_like(1, (300, 420)),
        scan_like(2, (300, 420), mode="L"),
        scan_like(3, (600, 840), mode="L").point(lambda v: 255 if v > 110 else 0).convert("1"),
    ]
    pages = run(tmp_path, "adf.tif", tiff(frames), ctx)

    assert [p.index for p in pages] == [0, 1, 2]
    assert [(p.mode, p.width) for p in pages] == [("RGB", 300), ("L", 300), ("1", 600)]
    for page, frame in zip(pages, frames):
        assert same_pixels(Image.open(io.BytesIO(page.data)), frame)
        assert page.source_sha256 == sha256_hex(page.data) and page.dpi == 300
    assert len({p.source_sha256 for p in pages}) == 3


def test_single_page_tiff_is_stored_byte_for_byte(tmp_path, ctx):
    data = tiff([scan_like(1, (300, 420))])
    (page,) = run(tmp_path, "one.tif", data, ctx)
    assert page.data == data and page.source_sha256 == sha256_hex(data)


def test_tiff_whose_third_directory_is_cut_is_truncated(tmp_path, ctx):
    data = tiff([scan_like(i, (300, 420)) for i in range(3)])
    second, third = ifd_offsets(data)[1:]
    # inside the third directory, inside its pixels, halfway through them, inside its strip table
    for cut in (third + 6, third - 40, (second + third) // 2, len(data) - 20):
        assert refused(tmp_path, "cut.tif", data[:cut], ctx).code == "FILE_TRUNCATED", cut
        assert not complete.looks_complete(tmp_path / "cut.tif"), cut


def test_a_single_strip_tiff_over_the_decode_budget_is_a_memory_limit(tmp_path, ctx):
    """One strip cannot be decoded a band at a time: a page whose decoded size is over the
    budget is refused before any pixel is decoded (the header claims 9000 × 9000 RGB)."""
    data = bytearray(tiff([scan_like(1, size=(16, 16))]))
    at = ifd_offsets(bytes(data))[0]
    for k in range(struct.unpack("<H", data[at : at + 2])[0]):
        entry = at + 2 + 12 * k
        tag, kind = struct.unpack("<HH", data[entry : entry + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength
            data[entry + 8 : entry + 12] = struct.pack("<H2x" if kind == 3 else "<I", 9000)
    err = refused(tmp_path, "huge.tif", bytes(data), replace(ctx, max_pixels=90_000_000))
    assert err.code is ErrorCode.FILE_MEMORY_LIMIT and err.params["page"] == 1
    assert err.params["need"] == megabytes(9000 * 9000 * 4)


def test_tiff_frame_count_reads_only_the_directories(tmp_path):
    data = tiff([scan_like(i, (300, 420)) for i in range(4)])
    assert complete.tiff_frame_count(io.BytesIO(data), len(data)) == 4
    looped = bytearray(data)
    last = ifd_offsets(data)[-1]
    count = struct.unpack("<H", data[last : last + 2])[0]
    looped[last + 2 + 12 * count : last + 6 + 12 * count] = struct.pack("<I", ifd_offsets(data)[0])
    assert complete.tiff_frame_count(io.BytesIO(bytes(looped)), len(looped)) is None  # a cycle is not a file


# ---------------------------------------------------------------- JPEG, caps, completeness


def test_jpeg_completeness_tolerates_padding_and_sees_a_missing_end(tmp_path):
    data = jpeg(scan_like(1))
    cases = {
        "ok.jpg": data,
        "padded.jpg": data + b"\x00" * 5000,
        "cut.jpg": data[:-300],
        "empty.jpg": b"",
        "junk.jpg": b"not an image at all, still being written",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    assert {n: complete.looks_complete(tmp_path / n) for n in cases} == {
        "ok.jpg": True,
        "padded.jpg": True,
        "cut.jpg": False,
        "empty.jpg": False,
        "junk.jpg": False,
    }


def test_truncated_jpeg_and_png_are_refused(tmp_path, ctx):
    assert refused(tmp_path, "cut.jpg", jpeg(scan_like(1))[:-300], ctx).code == "FILE_TRUNCATED"
    data = png(scan_like(1))
    assert refused(tmp_path, "cut.png", data[: len(data) // 2], ctx).code in ("FILE_TRUNCATED", "FILE_UNREADABLE")


def test_pdf_page_over_the_pixel_cap_is_refused_before_decoding(tmp_path, ctx):
    small = replace(ctx, max_pixels=100_000)
    err = refused(tmp_path, "big.pdf", img2pdf.convert([jpeg(scan_like(1))]), small)
    assert err.code == "FILE_TOO_LARGE"


def test_oversized_file_is_refused_without_being_read(tmp_path, ctx):
    path = tmp_path / "huge.jpg"
    cap = dec.byte_cap(ctx.max_pixels)
    with open(path, "wb") as f:  # sparse: st_size says 256 MB, the disk holds a few bytes
        f.write(jpeg(scan_like(1))[:1000])
        f.truncate(cap + 1)
    tracemalloc.start()
    try:
        with pytest.raises(AppError) as info:
            dec.decode_all(Claimed(claim="0001", path=path, source_name=path.name), ctx)
        assert complete.looks_complete(path, cap)  # settled and over the cap: take it, decode refuses
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.code == "FILE_SIZE_TOO_LARGE" and "256 MB" in info.value.message
    assert peak < 1024 * 1024


def test_byte_cap_is_at_least_256_mb_and_follows_the_pixel_cap():
    assert dec.byte_cap(40_000_000) == 256 * 1024 * 1024
    assert dec.byte_cap(90_000_000) == 360_000_000


# ---------------------------------------------------------------- through the appliance


def test_cut_multi_page_tiff_is_quarantined_whole_and_nothing_of_it_stored(settings, db):
    from juanzong.edge.appliance import Appliance

    frames = [scan_like(i, (300, 420)) for i in range(3)]
    good, cut = tiff(frames), tiff(frames[::-1])
    (settings.hot_folder / "scan_0001.tif").write_bytes(good)
    (settings.hot_folder / "scan_0002.tif").write_bytes(cut[: ifd_offsets(cut)[2] + 6])

    outcomes = Appliance(settings).ingest_once(settle=0.05)

    assert [(o.source_name, o.status, o.pages, o.code) for o in outcomes] == [
        ("scan_0001.tif", "stored", 3, ""),
        ("scan_0002.tif", "quarantined", 0, "FILE_TRUNCATED"),
    ]
    rows = db.execute("SELECT claim, source_name, source_sha256 FROM pages ORDER BY claim").fetchall()
    assert [r[0].rsplit("#", 1)[1] for r in rows] == ["0", "1", "2"]
    assert {r[1] for r in rows} == {"scan_0001.tif"}
    assert len({r[2] for r in rows}) == 3  # each page hashed on its own bytes
    assert db.execute("SELECT code FROM quarantine").fetchall() == [("FILE_TRUNCATED",)]
    assert list(settings.spool_dir.iterdir()) == []


def test_oversized_file_is_set_aside_unread_and_ingest_goes_on(settings, db):
    from juanzong.edge.appliance import Appliance
    from juanzong.edge.tooling.pages import text_page
    from juanzong.edge.tooling.scanner import SimulatedScanner

    huge = settings.hot_folder / "scan_0001.jpg"
    with open(huge, "wb") as f:  # sparse: 256 MB by st_size, almost nothing on disk
        f.write(jpeg(scan_like(1))[:1000])
        f.truncate(dec.byte_cap(MAX_PIXELS) + 1)
    expected = dec.sha256_file(huge)
    SimulatedScanner(settings.hot_folder, start=2).write(text_page(2))

    app = Appliance(settings)
    tracemalloc.start()
    try:
        outcomes = app.ingest_once(settle=0.05)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert [(o.source_name, o.status, o.code) for o in outcomes] == [
        ("scan_0001.jpg", "quarantined", "FILE_SIZE_TOO_LARGE"),
        ("scan_0002.jpg", "stored", ""),
    ]
    assert peak < 64 * 1024 * 1024  # the good A4 page costs ~30 MB; the 256 MB file is never in memory
    claim, sha, size, blob, reason = db.execute("SELECT claim, source_sha256, source_size, blob_id, reason FROM quarantine").fetchone()
    assert (sha, size, blob) == (expected, dec.byte_cap(MAX_PIXELS) + 1, None)
    assert dec.OVERSIZE_DIR in reason
    kept = settings.hot_folder / dec.OVERSIZE_DIR / claim
    assert kept.stat().st_size == size and not huge.exists()
    assert list(settings.spool_dir.iterdir()) == []
    # a restart finds nothing to redo: the set-aside file is in no scan
    assert Appliance(settings).ingest_once(settle=0.05) == []


# ---------------------------------------------------------------- a large Flate page, band by band

A3_600 = (7016, 9921)


def _idat(png: bytes) -> bytes:
    """The concatenated IDAT data of a PNG (read independently of the code under test)."""
    at, out = 8, b""
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at : at + 8])
        if kind == b"IDAT":
            out += png[at + 8 : at + 8 + length]
        at += 12 + length
    return out


def _a3_page(cover: Image.Image | None = None) -> Image.Image:
    """An A3 600 dpi colour page: white paper, coloured blocks and lines (and a cover sheet at full scale)."""
    from PIL import ImageDraw

    img = Image.new("RGB", A3_600, "white")
    draw = ImageDraw.Draw(img)
    for k in range(40):
        top = 300 + k * 240
        draw.rectangle((400 + 37 * k, top, 6400 - 23 * k, top + 90), fill=(20 * k % 256, 90, 255 - 5 * k))
        draw.line((0, top + 130, A3_600[0], top + 150 + k), fill=(0, 0, 0), width=3)
    if cover is not None:
        img.paste(cover.convert("RGB").resize((cover.width * 2, cover.height * 2), Image.Resampling.NEAREST), (600, 800))
    return img


def _flate_pdf(img: Image.Image, predictor: bool, dpi: int = 600) -> tuple[bytes, bytes]:
    """(PDF, the image stream's raw bytes): one Flate image over the page, PNG-predicted
    (the IDAT of Pillow's PNG, adaptive filters per row) or plain zlib of the samples."""
    pdf = pikepdf.new()
    if predictor:
        out = io.BytesIO()
        img.save(out, "PNG", compress_level=1)
        data = _idat(out.getvalue())
        extra = {"DecodeParms": pikepdf.Dictionary(Predictor=15, Colors=3, BitsPerComponent=8, Columns=img.width)}
    else:
        data, extra = zlib.compress(img.tobytes(), 1), {}
    stream = pikepdf.Stream(
        pdf,
        data,
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=img.width,
        Height=img.height,
        ColorSpace=pikepdf.Name.DeviceRGB,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
        **extra,
    )
    w, h = img.width * 72 / dpi, img.height * 72 / dpi
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, w, h],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream)),
        Contents=pikepdf.Stream(pdf, b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h)),
    )
    pdf.pages.append(pikepdf.Page(page))
    return save(pdf), data


@pytest.mark.slow  # two A3 600 dpi colour pages built and decoded
@pytest.mark.parametrize("predictor", [False, True], ids=["zlib", "png-predictor"])
def test_an_a3_600dpi_colour_flate_page_is_decoded_in_bands(tmp_path, predictor):
    """Issue 8 point 3: the page the per-page memory budget used to refuse (FILE_MEMORY_LIMIT) is
    stored as one page; the master holds the image stream's bytes untouched (IDAT of a PNG for the
    PNG predictor, the strip of a Deflate TIFF otherwise) and decodes to the same pixels; the analysis
    image equals the one made from the whole page at once."""
    from juanzong.edge.ingest import analysis

    img = _a3_page()
    data, stream = _flate_pdf(img, predictor)
    (tmp_path / "a3.pdf").write_bytes(data)
    (page,) = dec.decode_file(tmp_path / "a3.pdf", max_pixels=90_000_000)
    assert (page.width, page.height, page.dpi, page.mode) == (*A3_600, 600, "RGB")
    if predictor:
        assert (page.fmt, _idat(page.data)) == ("png", stream)
    else:
        offsets = ifd_offsets(page.data)
        assert page.fmt == "tiff" and len(offsets) == 1 and page.data[8 : 8 + len(stream)] == stream
    assert page.source_sha256 == sha256_hex(page.data)
    with Image.open(io.BytesIO(page.data)) as master:
        assert ImageChops.difference(master.convert("RGB"), img).getbbox() is None
    expected = analysis.half_grey(img)
    assert page.half.size == expected.size
    assert ImageChops.difference(page.half, expected).getextrema()[1] <= 1


@pytest.mark.slow
def test_a_cover_sheet_on_an_a3_flate_page_is_read(tmp_path):
    from juanzong.edge.coversheet import CoverSheetInfo, render_cover_sheet
    from juanzong.edge.ingest.barcode import read_codes
    from juanzong.shared.ids import Kind, new_id

    item = new_id(Kind.ITEM)
    cover = render_cover_sheet(
        CoverSheetInfo(
            item_id=item, intake_id=new_id(Kind.INTAKE), case_number="（2026）京0102民初1号", item_name="起诉状", declared_pages=1
        )
    )
    data, _ = _flate_pdf(_a3_page(cover), predictor=True)
    (tmp_path / "cover.pdf").write_bytes(data)
    (page,) = dec.decode_file(tmp_path / "cover.pdf", max_pixels=90_000_000)
    scan = read_codes(page.data, half=page.half)
    assert scan.cover_item == item, scan


def test_a_large_flate_page_in_another_colour_space_keeps_the_memory_refusal(tmp_path):
    """CMYK Flate (not band-decoded) over the budget: still FILE_MEMORY_LIMIT, planned before decoding."""
    pdf = pikepdf.new()
    w, h = A3_600
    stream = pikepdf.Stream(
        pdf,
        zlib.compress(b"\x00" * 16),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=w,
        Height=h,
        ColorSpace=pikepdf.Name.DeviceCMYK,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
    )
    pw, ph = w * 72 / 600, h * 72 / 600
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, pw, ph],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream)),
        Contents=pikepdf.Stream(pdf, b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (pw, ph)),
    )
    pdf.pages.append(pikepdf.Page(page))
    (tmp_path / "cmyk.pdf").write_bytes(save(pdf))
    with pytest.raises(AppError) as err:
        dec.decode_file(tmp_path / "cmyk.pdf", max_pixels=90_000_000)
    assert err.value.code == ErrorCode.FILE_MEMORY_LIMIT


def _predicted(img: Image.Image, predictor: int) -> tuple[bytes, dict]:
    """The image's samples as a Flate stream with no predictor, TIFF predictor 2 or PNG predictors."""
    import numpy as np

    colors = len(img.getbands())
    parms = {"DecodeParms": pikepdf.Dictionary(Predictor=predictor, Colors=colors, BitsPerComponent=8, Columns=img.width)}
    if predictor == 1:
        return zlib.compress(img.tobytes()), {}
    if predictor == 2:
        rows = np.asarray(img, dtype=np.uint8).reshape(img.height, img.width, colors)
        return zlib.compress(np.diff(rows, axis=1, prepend=0).astype(np.uint8).tobytes()), parms
    out = io.BytesIO()
    img.save(out, "PNG")
    return _idat(out.getvalue()), parms


@pytest.mark.parametrize("mode,predictor", [("RGB", 1), ("L", 2), ("RGB", 2), ("L", 15), ("RGB", 12)])
def test_flate_bands_undo_every_predictor(tmp_path, monkeypatch, mode, predictor):
    """The band path on a small noisy page (the size threshold lowered): the master decodes to the
    page's pixels and the analysis image equals the whole-page one, for each predictor and mode."""
    from juanzong.edge.ingest import analysis, raster

    monkeypatch.setattr(raster, "BAND_ABOVE", 0)
    img = scan_like(2, size=(620, 1300), mode=mode)
    data, parms = _predicted(img, predictor)
    pdf = pikepdf.new()
    space = pikepdf.Name.DeviceRGB if mode == "RGB" else pikepdf.Name.DeviceGray
    stream = pikepdf.Stream(
        pdf,
        data,
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=img.width,
        Height=img.height,
        ColorSpace=space,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
        **parms,
    )
    w, h = img.width * 72 / 200, img.height * 72 / 200
    pdf.pages.append(
        pikepdf.Page(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Page,
                MediaBox=[0, 0, w, h],
                Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream)),
                Contents=pikepdf.Stream(pdf, b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h)),
            )
        )
    )
    (tmp_path / "p.pdf").write_bytes(save(pdf))
    (page,) = dec.decode_file(tmp_path / "p.pdf")
    assert (page.fmt, page.mode, page.dpi, page.grey_source) == ("png" if predictor > 2 else "tiff", mode, 200, mode == "L")
    with Image.open(io.BytesIO(page.data)) as master:
        assert ImageChops.difference(master.convert(mode), img).getbbox() is None
    assert ImageChops.difference(page.half, analysis.half_grey(img)).getbbox() is None
    # the same stream cut short: a damaged file, with our reason
    stream.write(data[: len(data) // 2], filter=pikepdf.Name.FlateDecode, decode_parms=parms.get("DecodeParms"))
    (tmp_path / "cut.pdf").write_bytes(save(pdf))
    with pytest.raises(AppError) as err:
        dec.decode_file(tmp_path / "cut.pdf")
    assert (err.value.code, err.value.params["detail"]) == (ErrorCode.FILE_UNREADABLE, "PDF 图像数据不完整")
