"""Languages, error pages, security headers, compression."""
import gzip


def test_sign_in_page_is_chinese_by_default_and_for_zh_cn_browsers(client):
    page = client.get("/signin", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    text = page.get_data(as_text=True)
    assert '<html lang="zh-Hans-CN">' in text and "登录学习" in text


def test_english_browser_gets_english_and_the_switch_is_remembered(client):
    assert '<html lang="en">' in client.get("/signin", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    client.post_form("/language", {"lang": "en", "next": "/signin"})
    page = client.get("/signin", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Sign in to learn" in page


def test_every_page_has_a_language_switch(client):
    page = client.get("/signin").get_data(as_text=True)
    assert 'name="lang" value="en"' in page


def test_error_pages_in_both_languages_and_json_for_the_api(client):
    zh = client.get("/nowhere")
    assert zh.status_code == 404 and "此页面不存在" in zh.get_data(as_text=True)
    en = client.get("/nowhere", headers={"Accept-Language": "en"})
    assert "This page does not exist" in en.get_data(as_text=True)
    api = client.get("/api/v1/nowhere")
    assert api.status_code == 404 and api.json["error"]["status"] == 404


def test_security_headers(client):
    response = client.get("/signin")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script(client):
    import re

    page = client.get("/signin").get_data(as_text=True)
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))


def test_responses_are_compressed_and_static_files_are_immutable(client):
    page = client.get("/signin", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert "登录" in gzip.decompress(page.data).decode()
    import re

    css_url = re.search(r'href="(/static/app\.css\?v=[0-9a-f]+)"', gzip.decompress(page.data).decode()).group(1)
    css = client.get(css_url, headers={"Accept-Encoding": "gzip"})
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert css.headers["Content-Encoding"] == "gzip"


def test_chinese_catalog_is_complete():
    from lms.i18n_catalog import untranslated

    assert untranslated() == {}
