"""Media: assets, resumable upload, probe, transcoding ladder, jobs, storage, streaming.

This package knows nothing of courses; other areas use `media.queries.playback` and
register in-use checkers with `media.services.register_in_use_checker`.
"""
