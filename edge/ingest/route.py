"""Stage 3, route: which item a page belongs to, and what role it plays.

A page carrying one of our cover-sheet codes is a separator (role "cover") and
makes its item the active one; any other page goes to the active item, or to
the unassigned queue when there is none. When the operator has asked to replace
a page (`edge replace`), the next page scanned takes that page's item, number
and side instead — with a duplex scanner, the next two images (the rescanned
sheet's front and back) take over both sides of the original sheet, so the
back never lands in another item and later pages keep their sides.

A closed item (`edge close`) takes no more pages: one scanned for it waits in
the unassigned queue, `held` for that item, with a finding, until `edge
reopen`. A cover sheet of ours naming an item this appliance does not know (a
sheet printed by another appliance) is reported as such, and the pages after
it wait unassigned rather than join whatever item was active before.

Sides: a duplex scanner delivers recto, verso, recto, … counted from the item's
latest cover sheet, whose own back is the image right after it (role
"cover_back", not numbered unless QC finds it is not blank). Foreign barcodes never route: only
`BarcodeScan.cover_item` (prefix, version, kind and check all ours) counts.
The active item is read here and written by `record` inside the page's
transaction; one ingest worker processes files in scanner order, so the value
read is the value the previous file committed.
"""

from __future__ import annotations

from dataclasses import replace

from juanzong.edge.ingest.context import (  # the stage contract: routing's value types
    IngestContext,
    ItemInfo,
    Page,
    PageRole,
    ReplaceTarget,
    RoutingView,
    Side,
    Sides,
)


class FileRouting:
    """The database's view plus the earlier pages of the same file: a multi-page
    TIFF may hold a cover sheet followed by its item's pages."""

    def __init__(self, base: RoutingView) -> None:
        self.base = base
        self._active_seen = False  # a cover sheet in this file set the active item
        self._active: str | None = None
        self._sides: dict[str, Sides] = {}
        self._replaced = 0  # replacement targets this file has used already

    def item(self, item_id: str) -> ItemInfo | None:
        return self.base.item(item_id)

    def active_item(self) -> str | None:
        return self._active if self._active_seen else self.base.active_item()

    def sides(self, item_id: str) -> Sides:
        return self._sides.get(item_id) or self.base.sides(item_id)

    def phashes(self, item_id: str) -> dict[str, str]:
        return self.base.phashes(item_id)

    def replace_targets(self) -> list[ReplaceTarget]:
        # each image of the rescan takes the next target; later pages of the same file route normally
        return self.base.replace_targets()[self._replaced :]

    def note(self, page: Page) -> None:
        if page.replaces:
            self._replaced += 1
        elif page.role == PageRole.COVER_UNKNOWN:
            self._active = None
        elif page.role == PageRole.COVER and page.item_id is not None:  # a known cover names its item
            self._active, self._active_seen = page.item_id, True
            self._sides[page.item_id] = Sides(1, True)
        elif page.item_id:
            seen = self.sides(page.item_id)
            self._sides[page.item_id] = Sides(seen.images + 1, seen.after_cover)


def run(page: Page, ctx: IngestContext) -> Page:
    view = ctx.view
    routed = _decide(page, ctx, view)
    if isinstance(view, FileRouting):
        view.note(routed)
    return routed


def _decide(page: Page, ctx: IngestContext, view: RoutingView) -> Page:
    cover = page.cover_item
    if cover is not None:
        known = view.item(cover)
        return replace(page, role=PageRole.COVER if known else PageRole.COVER_UNKNOWN, item_id=cover if known else None)
    targets = view.replace_targets()
    if targets:
        target = targets[0]
        return replace(page, role=PageRole.PAGE, item_id=target.item_id, side=Side(target.side), replaces=target.page_id)
    return _held_if_closed(_by_active_item(page, ctx, view), view)


def _by_active_item(page: Page, ctx: IngestContext, view: RoutingView) -> Page:
    item_id = view.active_item()
    if ctx.profile.duplex_order != "alternating" or item_id is None:
        return replace(page, role=PageRole.PAGE, item_id=item_id)
    sides = view.sides(item_id)
    role = PageRole.COVER_BACK if sides.after_cover and sides.images == 1 else PageRole.PAGE
    return replace(page, role=role, item_id=item_id, side=Side.RECTO if sides.images % 2 == 0 else Side.VERSO)


def _held_if_closed(page: Page, view: RoutingView) -> Page:
    """A page (not a cover's blank back) for a closed item waits unassigned, held for it."""
    if page.role != PageRole.PAGE or page.item_id is None:
        return page
    info = view.item(page.item_id)
    if info is None or not info.closed:
        return page
    return replace(page, item_id=None, held=info.item_id)
