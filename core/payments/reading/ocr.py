"""Image to lines of text, by RapidOCR (PP-OCR models run by onnxruntime on the CPU).

The models ship inside the ``rapidocr-onnxruntime`` wheel: nothing is downloaded at run time
and no system binary is needed. Its recogniser reads Latin letters, digits and Chinese, not
Thai script: on a Thai slip the digits (amounts, dates with numeric months, ids) are read and
the Thai words are not. The engine is optional (``pip install 'gomflow[ocr]'``), loaded once
per process on first use, under a lock so two threads never build it twice, and run by one
thread at a time.
"""

from __future__ import annotations

import threading
from typing import Any

from PIL import Image

from core.payments.reading.lines import TextLine, rows

MISSING = "reading screenshots needs `pip install 'gomflow[ocr]'`"
# Screenshots are scaled so their longer side is at most this before text is found: text in a
# phone screenshot stays legible, and detection time stays bounded.
DETECT_SIDE = 960

_lock = threading.Lock()
# RapidOCR keeps per-call state on its detector (the resize step chosen for the last image),
# so two threads must not run it at once: reads queue here, one at a time per process.
_run_lock = threading.Lock()
_engine: Any = None


class OcrUnavailable(RuntimeError):
    """The OCR extra is not installed; the message says how to install it."""


def available() -> bool:
    try:
        _load()
    except OcrUnavailable:
        return False
    return True


def _load() -> Any:
    global _engine
    if _engine is not None:
        return _engine
    with _lock:
        if _engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ModuleNotFoundError as exc:
                if exc.name != "rapidocr_onnxruntime":
                    raise OcrUnavailable(f"{MISSING} (installed, but {exc.name} is missing)") from exc
                raise OcrUnavailable(MISSING) from exc
            except ImportError as exc:  # OpenCV wants the system's libGL: say which library
                raise OcrUnavailable(f"the OCR engine is installed but cannot load: {exc}") from exc
            _engine = RapidOCR(
                use_cls=False,  # screenshots are upright; the angle classifier only costs time
                det_limit_side_len=DETECT_SIDE,
                det_limit_type="max",
                # One thread per read: callers read several proofs at once in threads, and
                # onnxruntime's spinning thread pool only burns a busy machine's other core.
                intra_op_num_threads=1,
                inter_op_num_threads=1,
            )
    return _engine


def read_lines(image: Image.Image) -> list[TextLine]:
    """The text of ``image`` as rows in reading order, each with its box and OCR score.

    Raises OcrUnavailable when the extra is not installed."""
    engine = _load()
    rgb = image.convert("RGB")
    with _run_lock:
        result, _ = engine(rgb)
    boxes: list[TextLine] = []
    for points, text, score in result or ():
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        boxes.append(TextLine(str(text), (min(xs), min(ys), max(xs), max(ys)), float(score)))
    return rows(boxes)
