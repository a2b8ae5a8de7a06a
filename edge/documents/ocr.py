"""Chinese OCR with rapidocr 3.x and the models its wheel bundles — never a download.

rapidocr 3.10 ships PP-OCRv6 small detection and recognition and the PP-OCRv4
mobile direction classifier inside the wheel; every other model would be
fetched from the internet at run time. So the engine is always given the
bundled files by explicit path, each checked against the SHA-256 pinned here
before it is loaded, and rapidocr's downloader is replaced by one that refuses:
a missing or altered model is a loud `AppError` in Chinese, never a silent
attempt to reach the network. onnxruntime is declared in pyproject.toml
(rapidocr does not declare it).

`TUNED` is what the worker runs; `BASELINE` is rapidocr with its defaults, kept
for `juanzong bench ocr`. The tuned settings (measured in the bench, see the
README) keep recognition as it is and make detection cheaper:

- detection on the page scaled to 1280 px on its long side (about 4 px per mm):
  body text of 9 pt and up is 12 px or taller there, ample for the DB detector,
  and it costs about a third of the default (which runs on the 2000 px image);
- no direction classifier: pages are upright (a page turned by the operator is
  rotated before OCR), and the classifier can only turn a correct line over;
- each line image squeezed to 0.6 of its width before recognition: the
  recognizer's cost grows with the line's width, and a CJK character at 48 px
  height still spans ~29 px, about 3.6 CTC steps (one per 8 px) — enough to
  keep every character (same accuracy on the bench pages, ~30 % less CPU).
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from juanzong.edge.documents.textlayer import PageText, TextLine
from juanzong.shared.errors import AppError, ErrorCode

RAPIDOCR_VERSION = "3.10.0"
MODELS: dict[str, tuple[str, str]] = {  # role → (bundled file, SHA-256)
    "det": ("PP-OCRv6_det_small.onnx", "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"),
    "rec": ("PP-OCRv6_rec_small.onnx", "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"),
    "cls": ("ch_ppocr_mobile_v2.0_cls_mobile.onnx", "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"),
}
log = logging.getLogger("juanzong.ocr")


@dataclass(frozen=True)
class OcrSettings:
    threads: int = 2  # onnxruntime intra-op threads; 0 = onnxruntime's default
    det_max_side: int = 0  # 0 = rapidocr's default detection size
    use_cls: bool = True
    rec_squeeze: float = 1.0  # horizontal scale of each line before recognition (1.0 = as rapidocr)
    params: dict = field(default_factory=dict)  # further rapidocr parameters

    def rapidocr_params(self) -> dict:
        p = {"Global.log_level": "warning", "Global.use_cls": self.use_cls, **self.params}
        if self.threads:
            p["EngineConfig.onnxruntime.intra_op_num_threads"] = self.threads
        if self.det_max_side:
            p.update({"Det.limit_type": "max", "Det.limit_side_len": self.det_max_side})
        return p


BASELINE = OcrSettings(threads=0)
TUNED = OcrSettings(threads=2, det_max_side=1280, use_cls=False, rec_squeeze=0.6)


def bundled_model_dir() -> Path:
    try:
        import rapidocr
    except ImportError as exc:
        raise AppError(ErrorCode.OCR_ENGINE_MISSING, detail=str(exc)) from exc
    return Path(rapidocr.__file__).resolve().parent / "models"


def checked_models(model_dir: Path | None = None) -> dict[str, Path]:
    """The bundled model files, each present and matching its pinned SHA-256, or AppError."""
    root = model_dir or bundled_model_dir()
    paths = {}
    for role, (name, digest) in MODELS.items():
        path = root / name
        if not path.is_file():
            raise AppError(ErrorCode.OCR_MODEL_MISSING, path=str(path), version=RAPIDOCR_VERSION)
        if _sha256(path) != digest:
            raise AppError(ErrorCode.OCR_MODEL_INVALID, path=str(path))
        paths[role] = path
    return paths


@lru_cache(maxsize=8)
def _sha256_cached(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sha256(path: Path) -> str:
    st = path.stat()
    return _sha256_cached(str(path), st.st_mtime_ns, st.st_size)


def refuse_downloads() -> None:
    """Replace rapidocr's downloader: any attempt is an error, never a connection."""
    from rapidocr.utils import download_file

    def refuse(input_params) -> None:  # noqa: ANN001 - rapidocr's DownloadFileInput
        raise AppError(ErrorCode.OCR_DOWNLOAD_REFUSED, url=getattr(input_params, "file_url", "?"))

    download_file.DownloadFile.run = staticmethod(refuse)  # type: ignore[method-assign]  # replacing it is the point


class OcrEngine:
    """One loaded rapidocr pipeline (about 2 s to load, ~0.9 GB): keep it for the process's life."""

    def __init__(self, settings: OcrSettings = TUNED, model_dir: Path | None = None) -> None:
        models = checked_models(model_dir)
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise AppError(ErrorCode.OCR_ENGINE_MISSING, detail=str(exc)) from exc
        refuse_downloads()
        params = {**settings.rapidocr_params(), "Det.model_path": str(models["det"]),
                  "Rec.model_path": str(models["rec"]), "Cls.model_path": str(models["cls"])}
        self.settings = settings
        self._engine = RapidOCR(params=params)
        if settings.rec_squeeze != 1.0:
            squeeze_lines(self._engine._load_rec_model(), settings.rec_squeeze)

    def read(self, image: Image.Image) -> PageText:
        """The lines on a page image (display orientation), top to bottom, left to right."""
        from rapidocr.utils.output import RapidOCROutput

        rgb = np.asarray(image.convert("RGB"))
        result = self._engine(rgb)
        lines = []
        if not isinstance(result, RapidOCROutput):  # the full pipeline answers with this type
            raise TypeError(f"rapidocr answered {type(result).__name__}")
        if result.boxes is not None and result.txts and result.scores:
            for box, text, score in zip(result.boxes, result.txts, result.scores):
                xs, ys = [float(p[0]) for p in box], [float(p[1]) for p in box]
                if text.strip():
                    lines.append(TextLine(text.strip(), min(xs), min(ys), max(xs), max(ys), float(score)))
        return PageText(image.width, image.height, tuple(sort_lines(lines)))

    def read_bytes(self, data: bytes, rotation: int = 0) -> PageText:
        img: Image.Image = Image.open(io.BytesIO(data))
        img.load()
        if rotation % 360:
            img = img.rotate(-(rotation % 360), expand=True)
        return self.read(img)


def squeeze_lines(recognizer, factor: float) -> None:
    """Scale every line image horizontally by `factor` before rapidocr's own resize (this
    recognizer instance only; rapidocr is pinned, its `resize_norm_img(img, max_wh_ratio)`)."""
    import cv2

    original = recognizer.resize_norm_img

    def resize(img: np.ndarray, max_wh_ratio: float) -> np.ndarray:
        h, w = img.shape[:2]
        return original(cv2.resize(img, (max(1, round(w * factor)), h)), max_wh_ratio * factor)

    recognizer.resize_norm_img = resize


def sort_lines(lines: list[TextLine]) -> list[TextLine]:
    """Reading order: lines whose vertical centres are within half a line height share a row."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.y0 + ln.y1) / 2):
        centre = (line.y0 + line.y1) / 2
        if rows and abs(centre - _centre(rows[-1])) < (line.y1 - line.y0) / 2:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.x0)]


def _centre(row: list[TextLine]) -> float:
    return sum((ln.y0 + ln.y1) / 2 for ln in row) / len(row)
