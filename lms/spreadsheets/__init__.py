"""The spreadsheet import every area shares (regions, households, skill certificates):

- ``sheet``: reading a CSV (any of the usual encodings) or XLSX file, finding its header row and
  mapping its columns through the import's ``Layout``; rows numbered as the official sees them.
- ``report``: the ``Issue`` (row, column, code, params), the messages by code, the import report
  (counts, issues, exit code 0/1/2) and what an import command prints.
- ``text``: cleaning cell text.

Knows nothing of any area: each import brings its layout, its messages and its counts.
"""
