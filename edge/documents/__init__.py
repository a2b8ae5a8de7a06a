"""Documents: each item becomes one catalogued, stamped, searchable PDF.

Pure building blocks (`assemble`, `stamp`, `textlayer`, `ocr`) take typed values
and return bytes; `store` keeps the rows; `builder` decides when an item is
complete and (re)builds its image-only PDF; `worker` is the background OCR
process that replaces it with the searchable one, earliest deadline first.
"""
