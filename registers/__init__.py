"""Registers in and out: a puskesmas's spreadsheets (CSV/XLSX) read into the family record, and the
record written back in the same columns.

``registers.model`` holds the shapes the reader gives the importer; ``registers.read`` reads files,
``registers.importer`` matches and writes, ``registers.template`` writes the template.
"""
