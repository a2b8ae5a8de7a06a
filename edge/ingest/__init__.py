"""Page ingest: the stages a scanned file goes through, listed once, in order.

    decode  → one Page per image in the file (edge.ingest.decode)
    PAGE_STAGES, per page:
      barcode → our codes on the page, foreign ones ignored (edge.ingest.barcode)
      route   → cover sheet, item, or unassigned; recto/verso (edge.ingest.route)
      qc      → quality findings, stored with the page (edge.ingest.qc)
      encrypt → sealed under a fresh data key (edge.ingest.encrypt)
    record  → durable blobs, then one transaction for the rows (edge.ingest.record)

`edge.ingest.pipeline` lists the per-page stages and runs them; edge.appliance
drives the whole file (claim, decode, stages, record, release, quarantine).
"""
