"""Upload offsets and sizes: whatever a client declares and sends, the service answers with an
UploadError (a status below 500) or accepts exactly what fits; the part file never grows past the
declared size."""
import hashlib
import os

from hypothesis import given
from hypothesis import strategies as st

from lms.extensions import db
from media import services, storage


def test_create_upload_sizes(app, make_user):
    owner = make_user("trainer")

    @given(size=st.integers(min_value=-2**70, max_value=2**70))
    def create(size):
        try:
            asset = services.create_upload(owner, "课", "a.mp4", size)
        except services.UploadError as exc:
            assert 400 <= exc.status < 600 and exc.status != 500
            assert size < 0 or size > services.max_upload_bytes() or exc.code == "no_space"
        else:
            assert 0 <= asset.upload_size == size <= services.max_upload_bytes()
        finally:
            db.session.rollback()

    create()


def test_append_chunk_offsets_and_sizes(app, make_user, monkeypatch):
    monkeypatch.setattr(services, "submit", lambda asset, enqueue=True: services._queue(asset, enqueue=False))
    monkeypatch.setattr(services, "_enqueue_after_commit", lambda asset_id: None)
    owner = make_user("trainer")

    @given(size=st.integers(min_value=1, max_value=4096),
           pieces=st.lists(st.tuples(st.integers(min_value=-10, max_value=5000), st.integers(min_value=0, max_value=3000),
                                     st.booleans()), min_size=1, max_size=6))
    def upload(size, pieces):
        asset = services.create_upload(owner, "课", "a.mp4", size)
        part = storage.upload_path(services.media_root(), asset.id)
        try:
            for offset, length, good_sum in pieces:
                data = os.urandom(length)
                digest = hashlib.sha256(data).hexdigest() if good_sum else "0" * 64
                try:
                    services.append_chunk(asset, offset, data, digest)
                except services.UploadError as exc:
                    assert exc.status in (400, 409, 413, 422)
                if os.path.exists(part):
                    assert os.path.getsize(part) <= size
        finally:
            db.session.rollback()
            storage.remove_asset(services.media_root(), asset.id)

    upload()
