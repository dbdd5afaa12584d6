import os

import pytest

from . import clips


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="session")
def landscape_clip(clip_dir):
    # 13 s: two full 6 s segments and a short last one; 360p source: rungs 144p–360p.
    return clips.make_video(os.path.join(clip_dir, "landscape.mp4"), size="640x360", seconds=13)


@pytest.fixture(scope="session")
def short_clip(clip_dir):
    return clips.make_video(os.path.join(clip_dir, "short.mp4"), size="320x180", seconds=3)


@pytest.fixture(scope="session")
def audio_clip(clip_dir):
    return clips.make_audio(os.path.join(clip_dir, "audio.m4a"), seconds=3)


@pytest.fixture(autouse=True)
def _empty_media_root(request):
    """Tables are emptied after each test (tests/conftest.py); so is the media folder."""
    yield
    if "app" in request.fixturenames:
        import shutil

        shutil.rmtree(str(request.getfixturevalue("app").config["MEDIA_ROOT"]), ignore_errors=True)
