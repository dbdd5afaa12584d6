"""The household import, in rooms: ``run`` (one import end to end), ``pipeline``
(reading and validating chunks, the helper process), ``writer`` (the database
writer) and ``report`` (what the official reads afterwards).  Import from the
module that holds a name; this package re-exports nothing.
"""
