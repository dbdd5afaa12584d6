from playwright.sync_api import expect


# A loaded 2-core CI machine hashes and sends chunks slowly: assertions on page text wait up to
# 30 s (Playwright's 5 s default made the uploader test fail under load, not because it was wrong).
expect.set_options(timeout=30_000)
