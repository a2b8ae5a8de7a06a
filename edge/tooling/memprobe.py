"""`juanzong bench memory`: peak memory of ingesting one file, per file class.

Each file is dropped alone into the hot folder of a throw-away appliance and
ingested by a fresh `edge ingest --once` child process — the real path:
decode, barcode, QC, encryption, the durable write and the commit. The
child's peak resident set size is the kernel's own high-water mark (VmHWM in
/proc/self/status, read by the child as it exits), so nothing is sampled or
estimated. (`wait4`'s ru_maxrss would not do: Linux carries the parent's
RSS at fork time into it.) The files are real
scanner-sized pages (A4 at 300 dpi, A3 at 600 dpi) of every class, built at
run time, plus the PDF the issue found at 1.15 GB: one large page repeated
ten times.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LIMIT_MB = 400
A4_300 = (2480, 3508)
A3_600 = (7016, 9921)
PROFILE = "memprobe"


@dataclass(frozen=True)
class Probe:
    name: str
    filename: str
    build: Callable[[], bytes]


@dataclass(frozen=True)
class Measured:
    name: str
    size_mb: float
    peak_mb: float
    outcome: str  # "stored 3" | "quarantined FILE_…" | "failed …"


def _save(img, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def _repeated_page_pdf(size: tuple[int, int], pages: int) -> bytes:
    """One large Flate image XObject drawn on `pages` pages: a few hundred KB on disk."""
    import pikepdf
    from PIL import Image

    pdf = pikepdf.new()
    img = Image.new("RGB", size, "white")
    stream = pikepdf.Stream(
        pdf,
        zlib.compress(img.tobytes(), 9),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=size[0],
        Height=size[1],
        ColorSpace=pikepdf.Name.DeviceRGB,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
    )
    w, h = size[0] * 72 / 300, size[1] * 72 / 300
    for _ in range(pages):
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, w, h],
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream)),
            Contents=pikepdf.Stream(pdf, b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h)),
        )
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _image_pdf(image: Callable, pages: int, size: tuple[int, int]) -> bytes:
    """`pages` pages, each drawing its own image XObject `image(pdf, n)` at 300 dpi."""
    import pikepdf

    pdf = pikepdf.new()
    w, h = size[0] * 72 / 300, size[1] * 72 / 300
    for n in range(pages):
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, w, h],
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image(pdf, n))),
            Contents=pikepdf.Stream(pdf, b"q %f 0 0 %f 0 0 cm /Im0 Do Q" % (w, h)),
        )
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _jbig2(pdf, bits) -> object:
    """A JBIG2 image XObject: one lossless generic region coded with MMR (the G4 code of the
    same bits, from libtiff), as a fax-to-PDF tool writes it."""
    import struct

    import pikepdf
    from PIL import Image, ImageOps, TiffImagePlugin

    g4 = _save(ImageOps.invert(bits.convert("L")).convert("1"), "TIFF", compression="group4")
    tif = Image.open(io.BytesIO(g4))
    assert isinstance(tif, TiffImagePlugin.TiffImageFile)
    tags = tif.tag_v2
    mmr = g4[tags[273][0] : tags[273][0] + tags[279][0]]
    w, h = bits.size

    def segment(number: int, kind: int, data: bytes) -> bytes:
        return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data

    data = (
        segment(0, 48, struct.pack(">IIIIBH", w, h, 0, 0, 0, 0))
        + segment(1, 39, struct.pack(">IIIIB", w, h, 0, 0, 0) + b"\x01" + mmr)
        + segment(2, 49, b"")
    )
    return pikepdf.Stream(
        pdf,
        data,
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=w,
        Height=h,
        ColorSpace=pikepdf.Name.DeviceGray,
        BitsPerComponent=1,
        Filter=pikepdf.Name.JBIG2Decode,
    )


def _masked(pdf, img) -> object:
    """A colour Flate image with a soft mask of its own size (a PDF tool's transparency)."""
    import pikepdf

    def flate(data: bytes, space, **kw):
        return pikepdf.Stream(
            pdf,
            zlib.compress(data, 6),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=img.width,
            Height=img.height,
            ColorSpace=space,
            BitsPerComponent=8,
            Filter=pikepdf.Name.FlateDecode,
            **kw,
        )

    mask = flate(img.convert("L").point(lambda v: 255 if v > 40 else 200).tobytes(), pikepdf.Name.DeviceGray)
    return flate(img.convert("RGB").tobytes(), pikepdf.Name.DeviceRGB, SMask=mask)


def probes(big: bool = True) -> list[Probe]:
    import img2pdf
    import numpy as np
    from PIL import Image

    from juanzong.edge.tooling.pages import plain_page

    def a4(seed=0):
        return plain_page(seed, A4_300, grain=4)

    def bw(seed=0):
        return a4(seed).convert("L").point(lambda v: 255 if v > 128 else 0).convert("1")

    def grey16(img):
        arr = np.asarray(img.convert("L")).astype("<u2") * 257
        return Image.frombytes("I;16", img.size, arr.tobytes())

    out = [
        Probe("JPEG colour A4 300 dpi", "scan_0001.jpg", lambda: _save(a4(), "JPEG", quality=85, dpi=(300, 300))),
        Probe("JPEG CMYK A4 300 dpi", "scan_0002.jpg", lambda: _save(a4().convert("CMYK"), "JPEG", dpi=(300, 300))),
        Probe("TIFF G4 A4 300 dpi", "scan_0003.tif", lambda: _save(bw(), "TIFF", compression="group4", dpi=(300, 300))),
        Probe(
            "TIFF G4 ×20 pages",
            "scan_0004.tif",
            lambda: _save(bw(), "TIFF", compression="group4", save_all=True, append_images=[bw(i) for i in range(1, 20)]),
        ),
        Probe(
            "TIFF JPEG colour ×10 pages",
            "scan_0005.tif",
            lambda: _save(a4(), "TIFF", compression="jpeg", save_all=True, append_images=[a4(i) for i in range(1, 10)]),
        ),
        Probe("TIFF LZW colour A4", "scan_0006.tif", lambda: _save(a4(), "TIFF", compression="tiff_lzw", dpi=(300, 300))),
        Probe("TIFF 16-bit grey A4", "scan_0007.tif", lambda: _save(grey16(a4()), "TIFF", compression="tiff_lzw", dpi=(300, 300))),
        Probe("TIFF CMYK A4", "scan_0008.tif", lambda: _save(a4().convert("CMYK"), "TIFF", compression="tiff_lzw")),
        Probe("TIFF CIELAB A4", "scan_0009.tif", lambda: _save(a4().convert("LAB"), "TIFF")),
        Probe("BigTIFF colour A4", "scan_0010.tif", lambda: _save(a4(), "TIFF", compression="tiff_lzw", big_tiff=True)),
        Probe("PNG RGBA A4", "scan_0011.png", lambda: _save(a4().convert("RGBA"), "PNG")),
        Probe("PNG palette A4", "scan_0012.png", lambda: _save(a4().quantize(64), "PNG")),
        Probe("JPEG 2000 A4", "scan_0013.jp2", lambda: _save(a4(), "JPEG2000", quality_mode="rates", quality_layers=[20])),
        Probe("PDF JPEG ×10 pages", "scan_0014.pdf", lambda: img2pdf.convert([_save(a4(i), "JPEG", dpi=(300, 300)) for i in range(10)])),
        Probe(
            "PDF CCITT ×10 pages",
            "scan_0015.pdf",
            lambda: img2pdf.convert([_save(bw(i), "TIFF", compression="group4", dpi=(300, 300)) for i in range(10)]),
        ),
        Probe("PDF Flate colour A4", "scan_0016.pdf", lambda: img2pdf.convert([_save(a4(), "PNG", dpi=(300, 300))])),
        Probe("PDF one A4 image ×10 pages", "scan_0017.pdf", lambda: _repeated_page_pdf(A4_300, 10)),
        Probe("TIFF G3 fax A4", "scan_0018.tif", lambda: _save(bw(), "TIFF", compression="group3", dpi=(204, 196))),
        Probe("TIFF palette A4", "scan_0019.tif", lambda: _save(a4().quantize(64), "TIFF", compression="tiff_lzw")),
        Probe("PNG 16-bit grey A4", "scan_0024.png", lambda: _save(grey16(a4()), "PNG")),
        Probe("PDF colour A4 with soft mask", "scan_0025.pdf", lambda: _image_pdf(lambda pdf, n: _masked(pdf, a4(n)), 1, A4_300)),
    ]
    if shutil.which("jbig2dec"):
        out.append(Probe("PDF JBIG2 A4 ×10 pages", "scan_0026.pdf", lambda: _image_pdf(lambda pdf, n: _jbig2(pdf, bw(n)), 10, A4_300)))
    if big:

        def a3():
            return plain_page(0, A3_600, grain=4)

        out += [
            Probe("JPEG colour A3 600 dpi", "scan_0020.jpg", lambda: _save(a3(), "JPEG", quality=85, dpi=(600, 600))),
            Probe("TIFF LZW colour A3 600 dpi", "scan_0021.tif", lambda: _save(a3(), "TIFF", compression="tiff_lzw", dpi=(600, 600))),
            Probe(
                "TIFF G4 A3 600 dpi",
                "scan_0022.tif",
                lambda: _save(a3().convert("L").point(lambda v: 255 if v > 128 else 0).convert("1"), "TIFF", compression="group4"),
            ),
            Probe("PDF one A3 600 dpi image ×10 pages", "scan_0023.pdf", lambda: _repeated_page_pdf(A3_600, 10)),
        ]
    return out


# --------------------------------------------------------------------------- measuring


def _profiles(root: Path) -> Path:
    """The shipped profiles plus `memprobe`: the simulated scanner taking every type, A3 600 dpi cap."""
    from juanzong.edge.devices.profiles import profiles_root

    target = root / "profiles"
    shutil.copytree(profiles_root(), target)
    text = (target / "scanners" / "simulated.toml").read_text("utf-8")
    text = (
        text.replace('name = "simulated"', f'name = "{PROFILE}"')
        .replace('types = ["jpeg", "tiff", "png"]', 'types = ["jpeg", "tiff", "png", "pdf", "jp2"]')
        .replace("naming = '^scan_\\d{4,}\\.(jpg|jpeg|tif|tiff|png)$'", "naming = '^scan_'")
        .replace("max_pixels = 40_000_000", "max_pixels = 72_000_000")
    )
    (target / "scanners" / f"{PROFILE}.toml").write_text(text, "utf-8")
    return target


def _home(root: Path, env: dict) -> Path:
    from juanzong.edge.tooling.bench import make_central

    _, identity = make_central(root)
    home = root / "edge"
    cmd = [
        sys.executable,
        "-P",
        "-m",
        "juanzong.shared.cli",
        "edge",
        "init",
        "--home",
        str(home),
        "--profile",
        PROFILE,
        "--central",
        str(identity),
    ]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return home


_PEAK = "JZ-PEAK-KB"
# The child: the product's own CLI, reporting its peak RSS (kB) on stderr as it exits.
_CHILD = f"""
import atexit, sys
def _peak():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            sys.stderr.write('{_PEAK} ' + line.split()[1] + chr(10))
atexit.register(_peak)
from juanzong.shared.cli import main
sys.exit(main(sys.argv[1:]))
"""


def measure_file(home: Path, env: dict, name: str, data: bytes, filename: str) -> Measured:
    hot = home / "hot"
    (hot / filename).write_bytes(data)
    cmd = [sys.executable, "-P", "-c", _CHILD, "edge", "ingest", "--once", "--json", "--home", str(home), "--settle", "0.05"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    text, errors = proc.stdout, proc.stderr
    peaks = [int(line.split()[1]) for line in errors.splitlines() if line.startswith(_PEAK)]
    peak = peaks[-1] / 1024 if peaks else float("nan")
    try:
        files = json.loads(text)["files"]
        outcome = " ".join(f"{f['status']} {f['pages'] or f['code']}" for f in files) or "nothing"
    except (ValueError, KeyError):
        outcome = f"failed: {errors.strip().splitlines()[-1] if errors.strip() else proc.returncode}"
    return Measured(name, len(data) / 1024 / 1024, peak, outcome)


def measure(probe_list: list[Probe]) -> list[Measured]:
    with tempfile.TemporaryDirectory(prefix="jz-mem-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "JUANZONG_PROFILES": str(_profiles(root))}
        home = _home(root, env)
        return [measure_file(home, env, p.name, p.build(), p.filename) for p in probe_list]


def main(args: argparse.Namespace) -> int:
    results = measure(probes(big=not args.quick))
    if args.json:
        print(json.dumps([r.__dict__ for r in results], ensure_ascii=False, indent=2))
    else:
        print(f"{'文件类别':<36} {'文件大小':>9} {'峰值内存':>9}  结果")
        for r in results:
            flag = "" if r.peak_mb < LIMIT_MB else f"  超过 {LIMIT_MB} MB"
            print(f"{r.name:<36} {r.size_mb:8.1f}M {r.peak_mb:8.0f}M  {r.outcome}{flag}")
    return 0 if all(r.peak_mb < LIMIT_MB for r in results) else 1
