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
README) keep recognition exactly as rapidocr does it and cut everything else:

- onnxruntime's worker threads sleep when idle instead of spinning
  (`session.intra_op.allow_spinning = 0`): a spinning thread burns its core
  between operators, which on a shared 2-core appliance is CPU taken from
  ingest and, under load, made the worker's own pages about 1.7x slower;
- detection on the page scaled to 1280 px on its long side (about 4 px per mm):
  body text of 8 pt and up is 10 px or taller there, ample for the DB detector,
  and it costs about 40 % of the default (which runs on the 2000 px image);
- recognition one line at a time (rapidocr batches 6, each padded to the widest
  of its batch): no padding to compute, about a quarter less recognition CPU
  and a lower peak RSS, the same text;
- no direction classifier: pages are upright (a page turned by the operator is
  rotated before OCR), and the classifier can only turn a correct line over;
- the models load once, when the engine is made (not on the first page).

The recognizer itself sees each line as rapidocr prepares it: squeezing each line
image before recognition (0.6 of its width, which an earlier version did)
saves ~25 % of its CPU but drops repeated digits — `800000000元` was read as
`800000元` — so it is not done.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
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
    spinning: bool = True  # onnxruntime threads busy-wait between operators (its default)
    rec_batch: int = 0  # lines per recognition run; 0 = rapidocr's default (6)
    params: dict = field(default_factory=dict)  # further rapidocr parameters

    def rapidocr_params(self) -> dict:
        p = {"Global.log_level": "warning", "Global.use_cls": self.use_cls, **self.params}
        if self.threads:
            p["EngineConfig.onnxruntime.intra_op_num_threads"] = self.threads
        if self.rec_batch:
            p["Rec.rec_batch_num"] = self.rec_batch
        if self.det_max_side:
            p.update({"Det.limit_type": "max", "Det.limit_side_len": self.det_max_side})
        return p


BASELINE = OcrSettings(threads=0)
TUNED = OcrSettings(threads=2, det_max_side=1280, use_cls=False, spinning=False, rec_batch=1)


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
        params = {
            **settings.rapidocr_params(),
            "Det.model_path": str(models["det"]),
            "Rec.model_path": str(models["rec"]),
            "Cls.model_path": str(models["cls"]),
        }
        self.settings = settings
        self._engine = RapidOCR(params=params)
        with session_options(spinning=settings.spinning):
            self._engine._load_det_model()
            self._engine._load_rec_model()
            if settings.use_cls:
                self._engine._load_cls_model()

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


@contextmanager
def session_options(*, spinning: bool) -> Iterator[None]:
    """While rapidocr makes its onnxruntime sessions: its options plus ours (rapidocr is pinned;
    `OrtInferSession._init_sess_opts(cfg)` builds the SessionOptions)."""
    from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

    original = OrtInferSession.__dict__["_init_sess_opts"]

    def ours(cfg):  # noqa: ANN001, ANN202 - rapidocr's engine config
        opts = original.__func__(cfg)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        return opts

    OrtInferSession._init_sess_opts = staticmethod(ours)  # type: ignore[method-assign]  # for these sessions only
    try:
        yield
    finally:
        OrtInferSession._init_sess_opts = original  # type: ignore[method-assign]


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
