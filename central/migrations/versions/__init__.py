"""One file per schema revision, applied in order by `central.db.upgrade`."""
