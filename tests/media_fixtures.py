"""Ready-made media for any area's tests: `make_ready_asset(title=..., kind="video"|"audio")`.

The ladder of one tiny generated clip is transcoded once per session; each call copies those
files into a new asset's published folder and records the renditions, so it costs milliseconds.
"""
from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def _media_templates(tmp_path_factory):
    from media.ladder import plan_ladder, transcode
    from media.probe import probe_file
    from tests.media import clips

    base = tmp_path_factory.mktemp("media-templates")
    templates = {}
    sources = {
        "video": clips.make_video(str(base / "video.mp4"), size="320x180", seconds=4),
        "audio": clips.make_audio(str(base / "audio.m4a"), seconds=4),
    }
    for kind, source in sources.items():
        probe = probe_file(source)
        plan = plan_ladder(probe)
        out = base / f"{kind}-ladder"
        out.mkdir()
        transcode(source, str(out), plan)
        templates[kind] = (source, probe, plan, str(out))
    return templates


@pytest.fixture
def make_ready_asset(app, _media_templates):
    from lms.extensions import db
    from media import storage
    from media.ladder import collect_outputs
    from media.models import Asset, AssetStatus, Rendition

    made = []

    def make(title="示例录像", kind="video", owner=None) -> Asset:
        source, probe, plan, folder = _media_templates[kind]
        asset = Asset(title=title, owner_id=getattr(owner, "id", None), status=AssetStatus.ready,
                      kind=kind, original_name=os.path.basename(source),
                      source_ext=os.path.splitext(source)[1], upload_size=probe.size,
                      upload_offset=probe.size, duration=probe.duration, size=probe.size,
                      width=probe.width or None, height=probe.height or None, fps=probe.fps or None,
                      probe=probe.as_dict(), version=1, attempts=1, progress=100)
        db.session.add(asset)
        db.session.flush()
        root = str(app.config["MEDIA_ROOT"])
        storage.remove_asset(root, asset.id)
        made.append(asset.id)
        final = storage.version_dir(root, asset.id, asset.version)
        shutil.copytree(folder, final)
        shutil.copyfile(source, storage.source_path(root, asset.id, asset.source_ext))
        bandwidths = {r.name: r.bandwidth for r in plan.rungs}
        for position, r in enumerate(collect_outputs(final, plan).renditions):
            db.session.add(Rendition(asset_id=asset.id, position=position, name=r.name, kind=r.kind,
                                     width=r.width, height=r.height, bitrate=r.bitrate,
                                     bandwidth=bandwidths[r.name], bytes=r.bytes, playlist=r.playlist))
        db.session.commit()
        return asset

    yield make
    for asset_id in made:
        storage.remove_asset(str(app.config["MEDIA_ROOT"]), asset_id)
