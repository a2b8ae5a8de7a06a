"""Per-page QC on real JPEG/TIFF files of A4 scans at 300 dpi, each with a real defect."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from juanzong.edge.ingest.context import QcRules, count_findings, duplicate_finding
from juanzong.edge.ingest.qc import analyse, duplicate_of, make_qc_input
from juanzong.edge.tooling import pages as q

COLOUR = QcRules(expect_colour=True)


class Scans:
    """Writes each scan once per session into a temp folder; the base page is rendered once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._base: Image.Image | None = None

    @property
    def base(self) -> Image.Image:
        if self._base is None:
            self._base = q.judgment_page(1)
        return self._base

    def file(self, name: str, make: Callable[[], Image.Image], **save: object) -> Path:
        path = self.folder / f"{name}.jpg"
        if not path.exists():
            q.save_jpeg(make(), path, **save)
        return path

    def result(self, name: str, make: Callable[[], Image.Image], rules: QcRules = COLOUR, **save: object):
        return analyse(make_qc_input(self.file(name, make, **save)), rules)


@pytest.fixture(scope="session")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Scans:
    return Scans(tmp_path_factory.mktemp("qc_scans"))


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


def only(result, code: str):
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, result.findings
    return found[0]


def test_clean_colour_page_has_no_findings(scans: Scans) -> None:
    result = scans.result("clean", lambda: q.scan_noise(scans.base, 1))
    assert result.findings == ()
    assert not result.is_blank
    assert abs(result.skew_centideg) <= 30
    assert len(result.phash) == 16 and int(result.phash, 16) >= 0
    assert result.ink_ratio_ppm > 10_000


def test_findings_are_canonical_json_without_floats(scans: Scans) -> None:
    dark = scans.result("dark", lambda: q.scan_noise(q.underexposed(scans.base), 4), dpi=200)
    dicts = [f.to_dict() for f in dark.findings]
    assert {d["code"] for d in dicts} == {"too_dark", "dpi_low"}
    for d in dicts:
        assert set(d) == {"code", "severity", "message", "value"}
        assert isinstance(d["value"], (int, str, type(None))) and not isinstance(d["value"], bool)
        assert d["severity"] in ("warning", "error")
    json.dumps(dicts, ensure_ascii=False, sort_keys=True)


@pytest.mark.parametrize(("degrees", "flagged"), [(0.0, False), (0.5, False), (1.5, True), (3.0, True), (-2.0, True)])
def test_skew_is_measured_with_sign_and_flagged_from_one_degree(scans: Scans, degrees: float, flagged: bool) -> None:
    result = scans.result(f"skew_{degrees}", lambda: q.scan_noise(q.rotate(scans.base, degrees), 2))
    assert result.skew_centideg is not None
    assert abs(result.skew_centideg - round(degrees * 100)) <= 30  # ±0.3°
    if flagged:
        skew = only(result, "skew")
        assert skew.value == result.skew_centideg
        assert ("逆时针" if degrees > 0 else "顺时针") in skew.message
        assert f"{abs(skew.value) / 100:.2f}°" in skew.message
    else:
        assert "skew" not in codes(result)


def test_skew_of_three_degrees_or_more_is_an_error(scans: Scans) -> None:
    result = scans.result("skew_4", lambda: q.scan_noise(q.rotate(scans.base, 4.0), 2))
    assert only(result, "skew").severity == "error"


def test_photo_only_page_has_no_skew_estimate(scans: Scans) -> None:
    page = lambda: q.scan_noise(q.judgment_page(3, lines=0, table=False, seal=False, title=False), 1)  # noqa: E731
    result = scans.result("photo", page)
    assert result.skew_centideg is None
    assert "skew" not in codes(result) and not result.is_blank


def test_duplex_backside_with_bleed_through_and_dust_is_blank(scans: Scans) -> None:
    result = scans.result("backside", lambda: q.scan_noise(q.bleed_backside(), 3, sigma=6))
    assert result.is_blank and codes(result) == ["blank"]
    assert result.skew_centideg is None
    assert "空白" in result.findings[0].message


@pytest.mark.parametrize("name", ["short_line", "signature"])
def test_one_short_line_or_a_signature_is_not_blank(scans: Scans, name: str) -> None:
    make = q.short_line_page if name == "short_line" else q.signature_page
    result = scans.result(name, lambda: q.scan_noise(make(), 3))
    assert not result.is_blank
    assert result.findings == ()


def test_open_lid_black_bands_are_a_black_border(scans: Scans) -> None:
    result = scans.result("lid_open", lambda: q.scan_noise(q.lid_open(scans.base), 4))
    border = only(result, "black_border")
    assert "上" in border.message and "右" in border.message
    assert border.value == round(140 * 25.4 / 300)  # the deeper band, in mm


def test_content_touching_the_edge_in_a_thin_line_is_not_a_border(scans: Scans) -> None:
    result = scans.result("edge_rule", lambda: q.scan_noise(q.edge_rule_page(), 4))
    assert result.findings == ()


def test_underexposed_scan_is_too_dark(scans: Scans) -> None:
    result = scans.result("underexposed", lambda: q.scan_noise(q.underexposed(scans.base), 4))
    dark = only(result, "too_dark")
    assert dark.value < 80 and f"平均亮度 {dark.value}" in dark.message
    assert not result.is_blank and "black_border" not in codes(result)


def test_washed_out_scan_is_too_light(scans: Scans) -> None:
    result = scans.result("washed_out", lambda: q.scan_noise(q.washed_out(scans.base), 4))
    assert codes(result) == ["too_light"]


def test_washed_out_blank_page_is_blank_not_light(scans: Scans) -> None:
    result = scans.result("washed_blank", lambda: q.scan_noise(q.washed_out(q.bleed_backside()), 4))
    assert codes(result) == ["blank"]


def test_dpi_below_minimum_in_the_header(scans: Scans) -> None:
    result = scans.result("dpi200", lambda: q.scan_noise(scans.base, 1), dpi=200)
    low = only(result, "dpi_low")
    assert (low.severity, low.value) == ("error", 200)
    assert low.message == "分辨率 200 dpi，低于要求的 300 dpi"


def test_dpi_missing_from_the_header(scans: Scans) -> None:
    result = scans.result("nodpi", lambda: q.scan_noise(scans.base, 1), dpi=None)
    assert codes(result) == ["dpi_missing"]


def test_header_claiming_300_dpi_on_a_150_dpi_a4_image(scans: Scans) -> None:
    small = lambda: q.scan_noise(scans.base, 1).resize((1240, 1754), Image.Resampling.LANCZOS)  # noqa: E731
    result = scans.result("fake300", small)
    low = only(result, "dpi_low")
    assert (low.severity, low.value) == ("warning", 150)
    assert "1240×1754" in low.message


def test_small_original_at_300_dpi_is_not_low_dpi(scans: Scans) -> None:
    receipt = lambda: q.scan_noise(scans.base, 1).crop((0, 0, 960, 2100))  # noqa: E731  (8 × 18 cm)
    assert "dpi_low" not in codes(scans.result("receipt", receipt))


def test_colour_original_scanned_in_grey_is_an_error(scans: Scans) -> None:
    result = scans.result("grey", lambda: q.scan_noise(scans.base, 1), mode="L")
    colour = only(result, "colour_expected")
    assert (colour.severity, colour.value) == ("error", "L") and "灰度" in colour.message
    assert analyse(make_qc_input(scans.file("grey", lambda: scans.base)), QcRules()).findings == ()


def test_colour_original_scanned_bitonal_is_an_error(scans: Scans) -> None:
    path = scans.folder / "bitonal.tif"
    scans.base.convert("1").save(path, compression="group4", dpi=(300, 300))
    inp = make_qc_input(path)
    assert inp.source_mode == "1" and inp.grey_source
    colour = only(analyse(inp, COLOUR), "colour_expected")
    assert colour.value == "1" and "黑白" in colour.message


def test_same_page_scanned_twice_is_a_duplicate_different_page_is_not(scans: Scans) -> None:
    first = scans.result("dup_first", lambda: q.scan_noise(scans.base, 1))
    again = scans.result("dup_again", lambda: q.scan_noise(q.rotate(q.shift(scans.base, 12, -9), 0.4), 8), quality=70)
    other = scans.result("dup_other", lambda: q.scan_noise(q.judgment_page(2), 1))
    earlier = {"P1": first.phash, "P2": other.phash}
    assert duplicate_of(again.phash, earlier, COLOUR) == "P1"
    assert duplicate_of(other.phash, {"P1": first.phash}, COLOUR) is None
    assert duplicate_of(first.phash, {}, COLOUR) is None
    finding = duplicate_finding("P1")
    assert (finding.code, finding.value) == ("duplicate", "P1") and "P1" in finding.message


def test_text_pages_of_one_layout_do_not_collide(scans: Scans) -> None:
    hashes = [scans.result(f"layout_{s}", lambda s=s: q.scan_noise(q.judgment_page(s, photo=False), s)).phash for s in (21, 22, 23)]
    assert duplicate_of(hashes[0], {"a": hashes[1], "b": hashes[2]}, COLOUR) is None
    assert duplicate_of(hashes[1], {"b": hashes[2]}, COLOUR) is None


def test_duplicate_of_returns_the_closest_earlier_page() -> None:
    base = int("f0f0f0f0f0f0f0f0", 16)
    near, nearer = f"{base ^ 0b111:016x}", f"{base ^ 0b1:016x}"
    assert duplicate_of(f"{base:016x}", {"A": near, "B": nearer}, QcRules()) == "B"
    assert duplicate_of(f"{base:016x}", {"A": near}, QcRules(duplicate_distance=2)) is None


def test_page_counts_against_the_declared_number() -> None:
    assert count_findings(10, 10) == ()
    (over,) = count_findings(10, 12)
    assert (over.code, over.severity, over.value) == ("over_scan", "error", 2)
    assert over.message == "申报 10 页，实际扫描 12 页，多扫 2 页"
    (under,) = count_findings(10, 9)
    assert (under.code, under.value) == ("under_scan", 1) and "漏扫 1 页" in under.message


def test_make_qc_input_decodes_at_half_size(scans: Scans) -> None:
    inp = make_qc_input(scans.file("clean", lambda: q.scan_noise(scans.base, 1)))
    assert inp.gray.mode == "L" and inp.gray.size == (1240, 1754)
    assert not inp.grey_source  # a colour scan
    assert (inp.source_mode, inp.dpi, inp.pixel_size) == ("RGB", (300, 300), q.A4)


def test_ingest_stage_attaches_qc_and_drops_blank_verso_only_when_the_profile_says_so(scans: Scans) -> None:
    from dataclasses import replace

    from juanzong.edge.devices.profiles import get_scanner
    from juanzong.edge.ingest import decode, qc
    from juanzong.edge.ingest.context import Claimed, IngestContext

    profile = get_scanner("fujitsu-fi-7160")  # blank_backside.policy = "flag"
    path = scans.file("backside", lambda: q.scan_noise(q.bleed_backside(), 3, sigma=6))
    ctx = IngestContext(
        appliance_id="A1",
        profile=profile,
        keys=None,
        qc_rules=COLOUR,  # QC needs no keys
        max_pixels=90_000_000,
        view=None,
    )
    (page,) = decode.decode_all(Claimed(claim="0001", path=path, source_name=path.name), ctx)
    verso = replace(page, role="page", side="verso")
    flagged = qc.run(verso, ctx)
    assert flagged.role == "page" and flagged.qc is not None and codes(flagged.qc) == ["blank"]
    dropping = replace(ctx, profile=replace(profile, blank_backside="drop"))
    assert qc.run(verso, dropping).role == "blank_dropped"
    assert qc.run(replace(verso, side="recto"), dropping).role == "page"
    assert qc.run(replace(verso, role="cover"), ctx).qc is None


def test_palette_scans_are_judged_by_their_palette_on_the_production_path(scans: Scans) -> None:
    """A colour palette PNG is colour, a palette of greys is grey: decided at decode, read by QC."""
    colour = scans.base.convert("RGB").quantize(64)
    colour_path, grey_path = scans.folder / "palette_colour.png", scans.folder / "palette_grey.png"
    colour.save(colour_path, dpi=(300, 300))
    scans.base.convert("L").convert("P").save(grey_path, dpi=(300, 300))
    colour_inp, grey_inp = make_qc_input(colour_path), make_qc_input(grey_path)
    assert colour_inp.source_mode == grey_inp.source_mode == "P"
    assert "colour_expected" not in codes(analyse(colour_inp, COLOUR))
    assert only(analyse(grey_inp, COLOUR), "colour_expected").severity == "error"
