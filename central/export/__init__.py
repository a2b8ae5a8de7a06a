"""Readable exports for the court's systems: one rendering per format of one dossier model (model.py)."""
