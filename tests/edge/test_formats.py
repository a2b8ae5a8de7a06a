"""Every class of file a scanner or PDF tool writes: faithful pages or a specific reason.

The corpus (tests/edge/corpus.py) is generated at test time. For each class:
the pages decode stores (count, format, mode, the file's own bytes where the
container allows, the exact pixels), an analysis image that is not clipped
(a 16-bit or CIELAB page must not look blank), or a stable code with a Chinese
reason that carries no library text.
"""

from __future__ import annotations

import io
import re
import shutil
from dataclasses import replace

import pytest
from corpus import Case, Pages, Refused, cases
from PIL import Image, ImageChops

from juanzong.edge.devices.profiles import get_scanner
from juanzong.edge.ingest import decode as dec
from juanzong.edge.ingest.context import Claimed, IngestContext
from juanzong.shared.crypto import sha256_hex
from juanzong.shared.errors import AppError

CASES = cases()
LIBRARY_TEXT = re.compile(r"object at 0x|Error|Exception|Traceback|errno|<[a-z_.]+ |\bcannot\b|\bnot\b|\bunsupported\b", re.I)


@pytest.fixture(scope="module")
def ctx() -> IngestContext:
    profile = replace(get_scanner("simulated"), file_types=("jpeg", "tiff", "png", "pdf"), naming=r".*", ignore=(r"^\.", r"\.tmp$"))
    return IngestContext(appliance_id="A1", profile=profile, keys=None, qc_rules=None, max_pixels=40_000_000, view=None)


def decode_case(tmp_path, case: Case, ctx: IngestContext):
    for program in case.needs:
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed (make setup installs it)")
    path = tmp_path / case.filename
    path.write_bytes(case.data)
    return dec.decode_all(Claimed(claim="0001", path=path, source_name=case.filename), ctx)


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    if a.size != b.size:
        return False
    mode = "RGB" if "RGB" in (a.mode, b.mode) or "CMYK" in (a.mode, b.mode) else "L"
    return ImageChops.difference(a.convert(mode), b.convert(mode)).getbbox() is None


@pytest.mark.parametrize("case", [c for c in CASES if isinstance(c.expect, Pages)], ids=lambda c: c.name)
def test_file_becomes_faithful_pages(tmp_path, ctx, case):
    expect: Pages = case.expect
    pages = decode_case(tmp_path, case, ctx)
    assert len(pages) == expect.count
    assert {p.fmt for p in pages} == {expect.fmt}
    if expect.mode != "*":
        assert {p.mode for p in pages} == {expect.mode}
    if expect.own_bytes:
        assert pages[0].data == case.data  # the master, byte for byte
    for page, want in zip(pages, expect.pixels or [None] * len(pages)):
        stored = Image.open(io.BytesIO(page.data))
        stored.load()
        assert stored.size == (page.width, page.height)
        if want is not None:
            assert same_pixels(stored, want)
        if expect.dpi:
            assert page.dpi == expect.dpi
    for page in pages:  # analysis sees the page as a person would: dark print on light paper
        low, high = page.half.getextrema()
        assert page.half.mode == "L" and low < 100 and high > 150, (case.name, low, high)


@pytest.mark.parametrize("case", [c for c in CASES if isinstance(c.expect, Refused)], ids=lambda c: c.name)
def test_file_is_refused_with_a_specific_chinese_reason(tmp_path, ctx, case):
    expect: Refused = case.expect
    with pytest.raises(AppError) as info:
        decode_case(tmp_path, case, ctx)
    err = info.value
    assert err.code == expect.code, err.message
    assert expect.words in err.message and "已隔离" in err.message
    assert not LIBRARY_TEXT.search(err.message.replace(case.filename, "")), err.message


def test_jpeg_2000_is_stored_as_written_where_the_profile_accepts_it(tmp_path, ctx):
    case = next(c for c in CASES if c.name == "jp2")
    jp2 = replace(ctx, profile=replace(ctx.profile, file_types=ctx.profile.file_types + ("jp2",)))
    (page,) = decode_case(tmp_path, case, jp2)
    assert page.fmt == "jp2" and page.data == case.data and page.mode == "RGB"


def test_multi_page_tiff_is_split_without_re_encoding(tmp_path, ctx):
    """Each page of a multi-page JPEG TIFF keeps its own JPEG strips: no decode-and-re-encode."""
    case = next(c for c in CASES if c.name == "tiff-multipage-jpeg")
    pages = decode_case(tmp_path, case, ctx)
    for page in pages:
        single = Image.open(io.BytesIO(page.data))
        assert single.info["compression"] == "jpeg" and getattr(single, "n_frames", 1) == 1
        strip = single.tag_v2[273][0], single.tag_v2[279][0]
        assert page.data[strip[0] : strip[0] + strip[1]] in case.data  # the scanner's compressed bytes


@pytest.mark.parametrize("compression", ["tiff_lzw", "jpeg", "packbits"])
def test_a_large_strip_tiff_is_analysed_a_band_at_a_time_with_the_same_result(tmp_path, ctx, monkeypatch, compression):
    """Band decoding (every strip decoded, never the whole page at once) sees exactly the
    page a whole decode sees; the stored master is still the file itself."""
    from corpus import saved

    from juanzong.edge.ingest import analysis, raster
    from juanzong.edge.tooling.pages import plain_page

    img = plain_page(9, (700, 1500))
    data = saved(img, "TIFF", compression=compression, dpi=(300, 300))
    whole = decode_case(tmp_path, Case("whole", "scan_0001.tif", data, Pages(1, "tiff", "RGB")), ctx)[0]
    monkeypatch.setattr(raster, "BAND_ABOVE", 0)
    monkeypatch.setattr(analysis, "BAND_ROWS", 64)
    banded = decode_case(tmp_path, Case("banded", "scan_0002.tif", data, Pages(1, "tiff", "RGB")), ctx)[0]
    assert banded.data == data and (banded.width, banded.height, banded.mode, banded.dpi) == (700, 1500, "RGB", 300)
    assert ImageChops.difference(banded.half, whole.half).getbbox() is None


def test_a_damaged_strip_in_a_banded_tiff_refuses_the_file(tmp_path, ctx, monkeypatch):
    from corpus import saved

    from juanzong.edge.ingest import raster
    from juanzong.edge.tooling.pages import plain_page

    data = bytearray(saved(plain_page(9, (700, 1500)), "TIFF", compression="tiff_lzw"))
    tif = Image.open(io.BytesIO(bytes(data)))
    at = tif.tag_v2[273][3]
    data[at : at + 200] = b"\xff" * 200
    monkeypatch.setattr(raster, "BAND_ABOVE", 0)
    with pytest.raises(AppError) as info:
        decode_case(tmp_path, Case("bad", "scan_0001.tif", bytes(data), Pages(1, "tiff", "RGB")), ctx)
    assert info.value.code in ("FILE_UNREADABLE", "FILE_TRUNCATED")


@pytest.mark.slow
def test_peak_memory_of_every_file_class_stays_under_400_mb():
    """`juanzong bench memory --quick`: each A4 class (and the one-image-ten-pages PDF)
    ingested alone by a fresh `edge ingest --once`; the kernel's high-water mark of RSS."""
    from juanzong.edge.tooling import memprobe

    results = memprobe.measure(memprobe.probes(big=False))
    over = [(r.name, round(r.peak_mb)) for r in results if not r.peak_mb < memprobe.LIMIT_MB]
    assert over == []
    assert all(r.outcome.startswith("stored") for r in results), [(r.name, r.outcome) for r in results]


def test_a_jbig2_pdf_without_jbig2dec_is_quarantined_then_retried_once_it_is_installed(tmp_path, central_keys):
    """Point 1: a machine without `jbig2dec` quarantines a JBIG2 PDF with FILE_DECODER_MISSING and
    a Chinese reason naming the program and the command that puts it back; once the program is
    there, that command stores the page. Real child processes; only PATH differs."""
    import json
    import os
    import subprocess
    import sys

    from corpus import pdf_jbig2
    from edge_kit import make_home

    from juanzong.edge.config import load_settings
    from juanzong.edge.tooling.pages import bilevel_page

    if shutil.which("jbig2dec") is None:
        pytest.skip("jbig2dec is not installed (make setup installs it)")
    home = make_home(tmp_path, central_keys, profile="network-share")
    hot = load_settings(home).hot_folder
    hot.mkdir(parents=True, exist_ok=True)
    (hot / "fax_0001.pdf").write_bytes(pdf_jbig2(bilevel_page(3)))
    no_tools = tmp_path / "no-tools"
    no_tools.mkdir()

    def jz(*args: str, path: str) -> subprocess.CompletedProcess:
        env = {**{k: v for k, v in os.environ.items() if k != "JUANZONG_HOME"}, "PATH": path}
        return subprocess.run(
            [sys.executable, "-P", "-m", "juanzong.shared.cli", "edge", args[0], "--home", str(home), *args[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    drained = jz("ingest", "--once", "--settle", "0.05", "--json", path=str(no_tools))
    assert drained.returncode == 0, drained.stderr
    (held,) = json.loads(jz("quarantine", "--json", path=str(no_tools)).stdout)
    assert held["code"] == "FILE_DECODER_MISSING" and "jbig2dec" in held["reason"] and "JBIG2" in held["reason"]
    assert "edge quarantine --retry" in held["reason"] and not LIBRARY_TEXT.search(held["reason"].replace("fax_0001.pdf", ""))

    retried = jz("quarantine", "--retry", held["id"], path=os.environ["PATH"])
    assert retried.returncode == 0, retried.stderr
    again = jz("quarantine", "--retry", held["id"], path=os.environ["PATH"])  # would store the scan twice
    assert again.returncode == 1 and again.stderr.startswith("错误 QUARANTINE_RETRIED: ") and "两份" in again.stderr
    assert "已放回重新导入" in jz("quarantine", path=os.environ["PATH"]).stdout
    assert jz("ingest", "--once", "--settle", "0.05", path=os.environ["PATH"]).returncode == 0
    (loose,) = json.loads(jz("pages", "--unassigned", "--json", path=os.environ["PATH"]).stdout)
    assert loose["source_name"].endswith("fax_0001.pdf") and loose["role"] == "page"  # stored, as retry-Q…-fax_0001.pdf


def _as(img: Image.Image, how: str) -> tuple[str, bytes]:
    """The page as a scanner in that mode writes it (extension, bytes)."""
    from corpus import grey16, saved

    if how == "tiff-16bit-grey":
        return "tif", saved(grey16(img), "TIFF", compression="tiff_lzw", dpi=(300, 300))
    if how == "tiff-cielab":
        return "tif", saved(img.convert("RGB").convert("LAB"), "TIFF", dpi=(300, 300))
    if how == "tiff-cmyk":
        return "tif", saved(img.convert("CMYK"), "TIFF", compression="tiff_lzw", dpi=(300, 300))
    if how == "jpeg-cmyk":
        return "jpg", saved(img.convert("CMYK"), "JPEG", quality=90, dpi=(300, 300))
    if how == "png-palette":
        return "png", saved(img.convert("RGB").quantize(16), "PNG", dpi=(300, 300))
    if how == "png-rgba":
        return "png", saved(img.convert("RGBA"), "PNG", dpi=(300, 300))
    raise AssertionError(how)


@pytest.mark.slow  # a whole ingest per pixel format
@pytest.mark.parametrize("how", ["tiff-16bit-grey", "tiff-cielab", "tiff-cmyk", "jpeg-cmyk", "png-palette", "png-rgba"])
def test_a_cover_sheet_and_a_page_in_each_pixel_format_are_read_and_filed(settings, db, how):
    """Point 1, through the whole ingest: the cover sheet's codes are read in a 16-bit, CIELAB,
    CMYK, palette or alpha file (it becomes the item's cover, not a loose page), the text page
    after it is filed as page 1 with its master untouched, and QC does not call it blank."""
    from edge_kit import cover_for, register

    from juanzong.edge.appliance import Appliance
    from juanzong.edge.tooling.pages import text_page

    intake = register(db, settings, items=(("起诉状", 1),))
    item = intake.items[0].item_id
    written = {}
    for n, img in enumerate((cover_for(intake, 0), text_page(5, colour=False)), start=1):
        ext, data = _as(img, how)
        (settings.hot_folder / f"scan_{n:04d}.{ext}").write_bytes(data)
        written[f"scan_{n:04d}.{ext}"] = data
    drained = Appliance(settings).ingest_once(settle=0.05)
    assert drained.unfinished == () and all(o.status == "stored" for o in drained), [(o.source_name, o.code) for o in drained]
    rows = db.execute("SELECT source_name, role, item_id, page_no, findings, source_sha256 FROM pages ORDER BY rowid").fetchall()
    (cover_name, cover_role, cover_item, _, _, _), (page_name, role, page_item, page_no, findings, sha) = rows
    assert (cover_role, cover_item) == ("cover", item), how
    assert (role, page_item, page_no) == ("page", item, 1), how
    assert '"blank"' not in findings, (how, findings)
    assert sha == sha256_hex(written[page_name])  # the master, as the scanner wrote it


def mutations(case: Case, count: int) -> list[bytes]:
    """Fuzzer-style damage, seeded by the case's name: header bytes, bytes anywhere, a cut."""
    import random

    rng, out = random.Random(case.name), []
    for m in range(count):
        data = bytearray(case.data)
        if m % 3 == 0:
            for _ in range(4):
                data[rng.randrange(min(len(data), 4096))] = rng.randrange(256)
        elif m % 3 == 1:
            for _ in range(16):
                data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            data = data[: rng.randrange(8, len(data))]
        out.append(bytes(data))
    return out


def test_damaged_files_become_pages_or_a_specific_reason_never_an_internal_error(tmp_path, ctx):
    """Every corpus file, damaged six ways: whatever decode makes of it, it is pages or an
    AppError with a specific code (never INGEST_FAILED, never a library exception) and a
    reason without library text."""
    everything = replace(ctx, profile=replace(ctx.profile, file_types=ctx.profile.file_types + ("jp2",)))
    outcomes = {"pages": 0, "refused": 0}
    for case in CASES:
        for n, data in enumerate(mutations(case, 6)):
            path = tmp_path / f"{n}-{case.filename}"
            path.write_bytes(data)
            try:
                dec.decode_all(Claimed(claim="0001", path=path, source_name=case.filename), everything)
                outcomes["pages"] += 1
            except AppError as err:
                outcomes["refused"] += 1
                assert err.code != "INGEST_FAILED", (case.name, n, err.message)
                assert not LIBRARY_TEXT.search(err.message.replace(case.filename, "")), (case.name, n, err.message)
    assert outcomes["pages"] and outcomes["refused"]  # the damage was real, and some files survive it


def test_a_damaged_fax_tiff_prints_no_library_text_on_the_terminal(tmp_path, ctx, capfd):
    """libtiff's own handlers wrote "Fax3Decode1D: Bad code word…" to stderr for every damaged
    line, straight onto `edge run`'s terminal; the decode keeps its outcome, the terminal stays clean."""
    from PIL import ImageDraw

    sheet = Image.new("1", (1700, 2200), 1)
    draw = ImageDraw.Draw(sheet)
    for y in range(0, 2200, 40):
        draw.line((0, y, 1700, y + 20), fill=0, width=3)
    buf = io.BytesIO()
    sheet.save(buf, "TIFF", compression="group3", dpi=(200, 200))
    data = bytearray(buf.getvalue())
    for i in range(300, len(data) - 400, 97):  # damage inside the strip, headers intact
        data[i] ^= 0x5A
    path = tmp_path / "fax.tif"
    path.write_bytes(bytes(data))
    capfd.readouterr()
    try:
        dec.decode_all(Claimed(claim="0001", path=path, source_name="fax.tif"), ctx)
    except AppError as err:
        assert err.code != "INGEST_FAILED"
    err_text = capfd.readouterr().err
    assert "Fax3" not in err_text and "Bad code word" not in err_text, err_text
