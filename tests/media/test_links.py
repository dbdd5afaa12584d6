"""Signed segment links (media.links, media.fastpath): the token nginx's secure_link checks, and
the app's own answer when no nginx is in front."""
import os
import re
import time

import pytest

from media import links
from media.queries import playback
from tests.media.http import fetch, playlist_uris


@pytest.fixture
def viewer_client(client, make_user, login):
    """Someone who may watch every asset (an admin); who else may is tests/security's matter."""
    login(client, make_user("admin"))
    return client


@pytest.fixture
def asset_links(app, viewer_client, make_ready_asset):
    """(asset, the 144p variant playlist's links, the media root)."""
    asset = make_ready_asset()
    playlist = fetch(viewer_client, playback(asset.id)["variants"][0]["url"]).data
    return asset, playlist_uris(playlist), str(app.config["MEDIA_ROOT"])


def test_token_is_nginx_secure_link_md5():
    # printf '2147483647/5/v3/144p abcdefghijklmnop' | openssl md5 -binary | openssl base64 | tr +/ -_ | tr -d =
    assert links.token("abcdefghijklmnop", 2147483647, 5, 3, "144p") == "MSecufBbGB5kCVXXyrfiyw"


def test_expiry_is_a_day_boundary_one_to_two_days_ahead():
    now = 1_795_000_123
    expires = links.expiry(now)
    assert expires % 86400 == 0 and 86400 <= expires - now <= 2 * 86400
    assert links.expiry(now + 3600) == expires or (now + 3600) % 86400 < 3600  # stable within a day


def test_secret_from_config_or_derived_from_the_secret_key():
    configured = {"MEDIA_LINK_SECRET": "s3cret-for-nginx-0123", "SECRET_KEY": "x"}
    assert links.secret_for(configured) == "s3cret-for-nginx-0123"
    derived = links.secret_for({"MEDIA_LINK_SECRET": None, "SECRET_KEY": "key"})
    assert links.SECRET_RE.match(derived) and derived != links.secret_for({"SECRET_KEY": "other"})
    for bad in ("short", "has space in it ok?", "dollar$sign-is-a-variable", 'quote"breaks-nginx-conf'):
        with pytest.raises(ValueError):
            links.secret_for({"MEDIA_LINK_SECRET": bad, "SECRET_KEY": "x"})


def test_variant_playlist_links_are_signed_for_this_asset(app, asset_links):
    asset, urls, root = asset_links
    assert re.search(r"/144p/init\w*\.mp4$", urls[0]) and len(urls) >= 2
    assert all(re.search(r"/144p/seg_\d+\.m4s$", u) for u in urls[1:])
    m = re.match(rf"^/media/s/(\d+)-([\w-]{{22}})/{asset.id}/v1/144p/", urls[0])
    assert m and all(u.startswith(m.group(0)) for u in urls)
    expires = int(m.group(1))
    assert expires % 86400 == 0 and 86400 <= expires - time.time() <= 2 * 86400
    assert m.group(2) == links.token(app.extensions["media_link_secret"], expires, asset.id, 1, "144p")


def test_valid_link_serves_the_file_without_a_session(app, asset_links):
    asset, urls, root = asset_links
    anonymous = app.test_client()  # the token is the permission: a proxy or nginx needs no cookie
    for url in urls:
        response = fetch(anonymous, url)
        name = url.split(f"/v1/", 1)[1]
        with open(os.path.join(root, f"assets/{asset.id}/v1/{name}"), "rb") as fh:
            assert response.status_code == 200 and response.data == fh.read()
        assert response.mimetype == ("video/mp4" if name.endswith(".mp4") else "video/iso.segment")
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    head = anonymous.head(urls[1])
    assert head.status_code == 200 and head.data == b"" and int(head.headers["Content-Length"]) > 0


def test_range_and_revalidation_on_signed_links(app, asset_links):
    asset, urls, root = asset_links
    c = app.test_client()
    url = urls[1]
    with open(os.path.join(root, f"assets/{asset.id}/v1/144p/" + url.rsplit("/", 1)[1]), "rb") as fh:
        data = fh.read()
    part = fetch(c, url, headers={"Range": "bytes=10-109"})
    assert part.status_code == 206 and part.data == data[10:110]
    assert part.headers["Content-Range"] == f"bytes 10-109/{len(data)}" and part.headers["Content-Length"] == "100"
    assert fetch(c, url, headers={"Range": "bytes=-50"}).data == data[-50:]
    assert fetch(c, url, headers={"Range": "bytes=100-"}).data == data[100:]
    bad = fetch(c, url, headers={"Range": f"bytes={len(data) + 5}-"})
    assert bad.status_code == 416 and bad.headers["Content-Range"] == f"bytes */{len(data)}"
    whole = fetch(c, url)
    assert fetch(c, url, headers={"If-None-Match": whole.headers["ETag"]}).status_code == 304
    assert fetch(c, url, headers={"If-Modified-Since": whole.headers["Last-Modified"]}).status_code == 304
    assert fetch(c, url, headers={"If-None-Match": '"other"'}).status_code == 200
    stale = fetch(c, url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.data == data  # If-Range mismatch: the whole file
    fresh = fetch(c, url, headers={"Range": "bytes=0-9", "If-Range": whole.headers["ETag"]})
    assert fresh.status_code == 206 and fresh.data == data[:10]  # a resumed download carries on
    several = fetch(c, url, headers={"Range": "bytes=0-9,20-29"})
    assert several.status_code == 200 and several.data == data  # several ranges: the whole file
    # A segment answered by the fast path carries the app's security headers, as Flask's pages do.
    assert whole.headers["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" in whole.headers


def test_expired_forged_unsigned_and_other_assets_tokens_are_refused(app, asset_links, make_ready_asset):
    asset, urls, root = asset_links
    c = app.test_client()
    secret = app.extensions["media_link_secret"]
    m = re.match(r"^/media/s/(\d+)-([\w-]{22})/(\d+)/v1/(144p/.+)$", urls[1])
    expires, tok, _asset, rest = m.groups()
    past = int(time.time()) - 10
    other = make_ready_asset()
    cases = {
        # a correct signature whose time is over
        f"/media/s/{past}-{links.token(secret, past, asset.id, 1, '144p')}/{asset.id}/v1/{rest}": 403,
        # one character changed
        f"/media/s/{expires}-{tok[:-1]}{'A' if tok[-1] != 'A' else 'B'}/{asset.id}/v1/{rest}": 403,
        # a later expiry with the old signature
        f"/media/s/{int(expires) + 86400}-{tok}/{asset.id}/v1/{rest}": 403,
        # this asset's token on another asset, and on another version
        f"/media/s/{expires}-{tok}/{other.id}/v1/{rest}": 403,
        f"/media/s/{expires}-{tok}/{asset.id}/v2/{rest}": 403,
        # this rung's token on another rung's segment
        f"/media/s/{expires}-{tok}/{asset.id}/v1/audio/{rest.split('/', 1)[1]}": 403,
        # signed with another secret
        f"/media/s/{expires}-{links.token('another-secret-0123', int(expires), asset.id, 1, '144p')}/{asset.id}/v1/{rest}": 403,
        # no token at all
        f"/media/s/{asset.id}/v1/{rest}": 404,
        f"/media/s/{expires}-/{asset.id}/v1/{rest}": 404,
    }
    for url, status in cases.items():
        response = fetch(c, url)
        assert response.status_code == status, url
        assert b"ftyp" not in response.data and b"moof" not in response.data
    assert fetch(c, f"/media/s/{expires}-{tok}/{asset.id}/v1/{rest}").status_code == 200
    assert c.post(urls[1]).status_code == 405


@pytest.mark.parametrize("tail", [
    "../../../../secret_key", "144p/../../source.mp4", "%2e%2e/%2e%2e/source.mp4", "..%2fsource.mp4",
    "/etc/passwd", "144p//seg_00000.m4s", "144p/.hidden", "%00.m4s", "144p/nothing.m4s", "144p",
    "a/b/c.m4s",
])
def test_traversal_and_unknown_files_are_404_even_with_a_valid_token(app, asset_links, tail):
    asset, urls, root = asset_links
    prefix = urls[0].split(f"/{asset.id}/v1/")[0]
    assert fetch(app.test_client(), f"{prefix}/{asset.id}/v1/{tail}").status_code == 404


def test_readme_shows_the_benchmarked_nginx_location():
    """README's production media locations and the ones bench/stream.py measures both come from
    media.nginx.media_locations, character for character."""
    import importlib.util

    from media.nginx import media_locations

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    spec = importlib.util.spec_from_file_location("bench_stream", os.path.join(root, "bench", "stream.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.media_locations is media_locations
    with open(os.path.join(root, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    assert media_locations("/srv/xiangxue/media", "CHANGE-ME-to-LMS_MEDIA_LINK_SECRET") in readme


@pytest.mark.parametrize("root, secret", [
    ("relative/media", "CHANGE-ME-to-LMS_MEDIA_LINK_SECRET"), ("/srv/media; evil", "CHANGE-ME-to-LMS_MEDIA_LINK_SECRET"),
    ("/srv/../etc", "CHANGE-ME-to-LMS_MEDIA_LINK_SECRET"), ("/srv/media", "short"), ("/srv/media", 'quote"breaks-nginx-conf'),
])
def test_nginx_locations_refuse_what_would_break_the_configuration(root, secret):
    from media.nginx import media_locations

    with pytest.raises(ValueError):
        media_locations(root, secret)
