"""质检工作站: the scanning operator's QC station (operators and supervisors).

- 今日工作: items with their state (edge.items.ItemState), declared vs scanned pages, open QC
  findings, deadline and time left (the dashboard's colours), filtered by state; the
  unassigned queue and the quarantine shelf with their reasons; on an air-gapped point, the
  batches waiting to be carried on a registered medium and the last carry (edge.media).
- 材料: page thumbnails in page order with side (正/反), number and QC findings; a larger view
  of one page; new pages appear while the scanner runs (a small fragment polled by
  station.js; without JavaScript the page refreshes itself).
- Actions are buttons and forms (no drag): each calls the same function in edge.items /
  edge.quarantine a command would, so the rules (numbering, reasons, two-person check,
  audit with the operator) live there once. The item's PDF is rebuilt by the documents
  worker: every page change marks the item dirty in the database (m007_documents triggers).

Thumbnails are decrypted in memory, scaled with Pillow and answered with
`Cache-Control: no-store`; nothing is written to disk.
"""

from __future__ import annotations

import io
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from threading import Lock
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from PIL import Image, ImageDraw

from juanzong.edge import items, quarantine
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.intake import load_item
from juanzong.edge.keys import load_keys
from juanzong.edge.repo import blobs as repo_blobs
from juanzong.edge.repo import station as repo
from juanzong.edge.web.context import actor, db, kiosk, now, record, settings
from juanzong.edge.web.counter import today_range
from juanzong.edge.web.dashboard import carry_state
from juanzong.shared.audit import Action
from juanzong.shared.crypto import open_blob_local
from juanzong.shared.errors import AppError, ErrorCode

log = logging.getLogger("juanzong.station")
bp = Blueprint("qc", __name__, url_prefix="/qc")

SIDES = {"recto": "正", "verso": "反"}
SIZES = {"thumb": (260, 360), "large": (1100, 1500)}
POLL_SECONDS = 3


# ---- the work list


@bp.get("/")
def index() -> Any:
    start, _ = today_range()
    rows = repo.work_items(db(), start)
    found = repo.page_findings(db(), [r["id"] for r in rows])
    for r in rows:
        r["state"], r["open_findings"] = items.item_state(r, found.get(r["id"], []))
    counts = {s: sum(r["state"] == s for r in rows) for s in items.ItemState}
    wanted = request.args.get("state", "")
    shown = [r for r in rows if not wanted or r["state"] == wanted]
    return render_template(
        "qc_index.html",
        rows=shown,
        counts=counts,
        total=len(rows),
        wanted=wanted,
        states=items.STATE_NAMES,
        unassigned=repo.unassigned(db()),
        shelf=[q for q in quarantine.shelf(db()) if not q["discarded_at"]],
        carry=carry_state(),
    )


# ---- an item and its pages


def _pages(item_id: str) -> list[dict[str, Any]]:
    pages = repo.item_pages(db(), item_id)
    for p in pages:
        p["open"] = items.open_findings(p["findings"], p["accepted"])
        p["side_name"] = SIDES.get(p["side"], p["side"])
    return pages


def _item_view(item_id: str) -> dict[str, Any]:
    item = repo.work_item(db(), item_id)
    if item is None:
        raise AppError(ErrorCode.ITEM_NOT_FOUND, item_id=item_id)
    pages = _pages(item_id)
    item["state"], item["open_findings"] = items.item_state(item, [(p["findings"], p["accepted"]) for p in pages])
    return {"item": item, "pages": pages, "version": repo.pages_version(db(), item_id)}


@bp.get("/item/<item_id>")
def item(item_id: str) -> Any:
    view = _item_view(item_id)
    record(Action.QC_VIEW, item_id)
    return render_template(
        "qc_item.html",
        **view,
        states=items.STATE_NAMES,
        poll_seconds=POLL_SECONDS,
        targets=repo.other_items(db(), item_id),
        unassigned=repo.unassigned(db()),
        discarded=repo.discarded_pages(db(), item_id),
    )


def passive(view: Callable[..., Any]) -> Callable[..., Any]:
    """A request the screen makes by itself (polling): it must not count as activity for idle logout."""
    view.passive = True  # type: ignore[attr-defined]  # a mark on the view function, read by the idle check
    return view


@bp.get("/item/<item_id>/pages")
@passive
def pages_fragment(item_id: str) -> Any:
    version = repo.pages_version(db(), item_id)
    if request.args.get("v") == version:
        return Response(status=204, headers={"Cache-Control": "no-store"})
    view = _item_view(item_id)
    resp = Response(render_template("_qc_pages.html", **view, states=items.STATE_NAMES))
    resp.headers.update({"Cache-Control": "no-store", "X-Pages-Version": version})
    return resp


@bp.get("/page/<page_id>")
def page(page_id: str) -> Any:
    row = repo.page(db(), page_id)
    if row is None:
        abort(404)
    row["open"] = items.open_findings(row["findings"], row["accepted"])
    row["side_name"] = SIDES.get(row["side"], row["side"])
    item_row = load_item(db(), row["item_id"]) if row["item_id"] else None
    order = items.numbered(db(), row["item_id"]) if row["item_id"] else []
    record(Action.PAGE_VIEW, page_id, item=row["item_id"])
    return render_template(
        "qc_page.html",
        page=row,
        item=item_row,
        count=len(order),
        prev=_neighbour(order, page_id, -1),
        next=_neighbour(order, page_id, 1),
        accepted=_accepted(row["accepted"]),
        findings=_findings(row["findings"]),
    )


def _neighbour(order: list[str], page_id: str, step: int) -> str | None:
    if page_id not in order:
        return None
    i = order.index(page_id) + step
    return order[i] if 0 <= i < len(order) else None


def _findings(text: str) -> list[dict[str, Any]]:
    return json.loads(text)


_accepted = _findings


# ---- images: decrypted in memory, never written anywhere

_cache: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
_cache_lock = Lock()
CACHE_ENTRIES = 400  # ~15 KB a thumbnail: a few MB of memory, nothing on disk


@bp.get("/page/<page_id>/<size>.jpg")
def image(page_id: str, size: str) -> Any:
    if size not in SIZES:
        abort(404)
    row = repo.page(db(), page_id)
    if row is None:
        abort(404)
    key = (page_id, size, int(row.get("rotation") or 0))
    with _cache_lock:
        body = _cache.get(key)
    if body is None:
        body = _render(row, SIZES[size])
        with _cache_lock:
            _cache[key] = body
            while len(_cache) > CACHE_ENTRIES:
                _cache.popitem(last=False)
    return Response(body, mimetype="image/jpeg", headers={"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"})


def _render(row: dict[str, Any], box: tuple[int, int]) -> bytes:
    cfg = settings()
    try:
        kind = repo_blobs.kind(db(), row["blob_id"])
        plain = open_blob_local(
            BlobStore(cfg.blob_dir).get(row["blob_id"]),
            row["wrapped_local"],
            kek=_kek(),
            appliance_id=cfg.appliance_id,
            blob_id=row["blob_id"],
            kind=kind,
        )
        im: Image.Image = Image.open(io.BytesIO(plain))
        im.draft("RGB", (box[0] * 2, box[1] * 2))  # JPEG: decode at a fraction of the size
        im = im.convert("RGB")
        im.thumbnail(box)
        del plain
    except (AppError, OSError, ValueError, TypeError) as exc:  # an image Pillow cannot show: a placeholder
        log.info("no preview for page %s: %s", row["id"], exc)
        im = _placeholder(box)
    rotation = int(row.get("rotation") or 0)
    if rotation:
        im = im.rotate(-rotation, expand=True)  # clockwise, as the PDF's /Rotate will show it
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80)
    return out.getvalue()


def _placeholder(box: tuple[int, int]) -> Image.Image:
    im = Image.new("RGB", (box[0], int(box[0] * 1.41)), "#dddddd")
    ImageDraw.Draw(im).rectangle((4, 4, im.width - 5, im.height - 5), outline="#888888", width=3)
    return im


def _kek() -> bytes:
    return kiosk().vault.kek


# ---- actions: one function each in edge.items / edge.quarantine; errors come back as a message


def _back(default: str) -> str:
    target = request.form.get("back", "")
    return target if target.startswith("/qc/") and not target.startswith("//") else default


def action(view: Callable[..., tuple[str, str]]) -> Callable[..., Any]:
    """Run an action: flash its message (or the error's Chinese message) and go back."""

    @wraps(view)
    def run(**kw: Any) -> Any:
        default = url_for("qc.index")
        try:
            message, default = view(**kw)
            flash(message, "ok")
        except AppError as err:
            flash(err.message, "error")
            if kw.get("item_id"):
                default = url_for("qc.item", item_id=kw["item_id"])
        return redirect(_back(default))

    return run


def _item_url(item_id: str | None) -> str:
    return url_for("qc.item", item_id=item_id) if item_id else url_for("qc.index")


def _int(name: str) -> int:
    try:
        return int(request.form.get(name, ""))
    except ValueError:
        return 0


@bp.post("/page/<page_id>/move")
@action
def move(page_id: str) -> tuple[str, str]:
    row = repo.page(db(), page_id) or {}
    step = {"up": -1, "down": 1}.get(request.form.get("dir", ""))
    position = (row.get("page_no") or 0) + step if step else _int("position")
    done = items.move_page(db(), settings().appliance_id, page_id, position, actor())
    return f"第 {done['from']} 页已移到第 {done['to']} 页", _item_url(done["item_id"])


@bp.post("/page/<page_id>/rotate")
@action
def rotate(page_id: str) -> tuple[str, str]:
    done = items.rotate_page(db(), settings().appliance_id, page_id, _int("by"), actor())
    row = repo.page(db(), page_id) or {}
    return f"页面已旋转，当前方向 {done['rotation']}°", _item_url(row.get("item_id"))


@bp.post("/page/<page_id>/discard")
@action
def discard(page_id: str) -> tuple[str, str]:
    done = items.discard_page(db(), settings().appliance_id, page_id, request.form.get("reason", ""), actor())
    return "页面已作废，其后页码已顺延调整", _item_url(done["item_id"])


@bp.post("/page/<page_id>/accept")
@action
def accept(page_id: str) -> tuple[str, str]:
    items.accept_finding(db(), settings().appliance_id, page_id, request.form.get("code", ""), request.form.get("reason", ""), actor())
    return "质检问题已确认保留", url_for("qc.page", page_id=page_id)


@bp.post("/page/<page_id>/rescan")
@action
def rescan(page_id: str) -> tuple[str, str]:
    done = items.arm_replacement(db(), settings().appliance_id, page_id, actor())
    return f"下一张扫描的页面将替换第 {done['page_no']} 页", _item_url(done["item_id"])


@bp.post("/page/<page_id>/assign")
@action
def assign(page_id: str) -> tuple[str, str]:
    item_id = request.form.get("item_id", "")
    position = _int("position") or None
    done = items.assign_page(db(), settings().appliance_id, page_id, item_id, position, actor())
    return f"页面已插入为第 {done['position']} 页", _item_url(item_id)


@bp.post("/item/<item_id>/insert")
@action
def insert(item_id: str) -> tuple[str, str]:
    position = _int("position") or None
    done = items.assign_page(db(), settings().appliance_id, request.form.get("page_id", ""), item_id, position, actor())
    return f"页面已插入为第 {done['position']} 页", _item_url(item_id)


@bp.post("/item/<item_id>/move-pages")
@action
def move_pages(item_id: str) -> tuple[str, str]:
    chosen = request.form.getlist("page_id")
    target = request.form.get("to_item", "")
    done = items.move_pages(db(), settings().appliance_id, chosen, target, actor(), _int("position") or None)
    return f"已将 {len(done['pages'])} 页移到另一材料（从第 {done['position']} 页起）", _item_url(item_id)


@bp.post("/item/<item_id>/close")
@action
def close(item_id: str) -> tuple[str, str]:
    done = items.close_item(db(), settings().appliance_id, item_id, actor())
    extra = "；" + "；".join(f["message"] for f in done["findings"]) if done["findings"] else ""
    return f"已结束扫描：申报 {done['declared_pages']} 页，实扫 {done['scanned_pages']} 页{extra}", _item_url(item_id)


@bp.post("/item/<item_id>/reopen")
@action
def reopen(item_id: str) -> tuple[str, str]:
    items.reopen_item(db(), settings().appliance_id, item_id, request.form.get("reason", ""), actor())
    return "材料已重新打开，可以继续扫描和修改", _item_url(item_id)


@bp.post("/item/<item_id>/approve")
@action
def approve(item_id: str) -> tuple[str, str]:
    done = items.approve_item(db(), settings().appliance_id, item_id, actor(), request.form.get("reason", ""), settings().qc_two_person)
    if done["two_person"]:
        return "已批准；按双人质检规定，须由另一名操作员复核后才作为已批准材料同步", _item_url(item_id)
    return "已批准，将随下一批次同步", _item_url(item_id)


@bp.post("/item/<item_id>/check")
@action
def check(item_id: str) -> tuple[str, str]:
    items.check_item(db(), settings().appliance_id, item_id, actor())
    return "复核完成，材料将作为已批准材料同步", _item_url(item_id)


@bp.post("/quarantine/<qid>/retry")
@action
def quarantine_retry(qid: str) -> tuple[str, str]:
    cfg = settings()
    path = quarantine.retry(db(), BlobStore(cfg.blob_dir), load_keys(cfg.keys_dir), cfg.appliance_id, cfg.hot_folder, qid, actor())
    return f"已放回扫描文件夹重新导入：{path.name}", url_for("qc.index")


@bp.post("/quarantine/<qid>/discard")
@action
def quarantine_discard(qid: str) -> tuple[str, str]:
    cfg = settings()
    quarantine.discard(db(), BlobStore(cfg.blob_dir), cfg.appliance_id, qid, request.form.get("reason", ""), actor(), now())
    return "隔离文件已丢弃（本机密钥已销毁，记录保留）", url_for("qc.index")
