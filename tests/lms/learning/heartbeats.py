"""Sending a heartbeat as the player does (shared by the progress API and fast path tests)."""


def beat(client, lesson, intervals, seq, client_id="dev-1", position=None, **kw):
    body = {"lesson": lesson.id, "intervals": intervals, "client_id": client_id, "seq": seq,
            "position": position if position is not None else (intervals[-1][1] if intervals else 0)}
    return client.post_json("/api/v1/progress", body, **kw)
