"""Offline Data Docs: every CDN URL of GX's own page templates is vendored and rewritten."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from expectations import docs_offline
from expectations.docs_offline import (
    CDN_HOSTS,
    VendoredAssetsMissingError,
    make_offline,
    remote_loads,
    rewrite_html,
)

GX_TEMPLATES = Path(__import__("great_expectations").__file__).parent / "render" / "view" / "templates"
LOADING = re.compile(r"""(?:\bsrc=|<link\b[^>]*\bhref=|url\()["']?(https?://[^"')\s{]+)""")

PAGE = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<style>.navbar-brand a {
  background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png') 0 0; }</style>
<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js"
  integrity="sha384-abc" crossorigin="anonymous"></script>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script><script src="https://cdn.jsdelivr.net/npm/vega-lite@5"></script>
</head><body><img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=20261127T051159Z&amp;dataContextId=1"/>
<a href="https://greatexpectations.io">Great Expectations</a></body></html>"""


def test_every_cdn_url_in_the_installed_gx_templates_is_known() -> None:
    urls = {m.group(1) for t in GX_TEMPLATES.glob("*.j2") for m in LOADING.finditer(t.read_text())}
    assert len(urls) >= 15, urls  # the templates still carry their CDN links
    unknown = [u for u in urls if docs_offline._local(u) is None]
    assert unknown == []


def test_rewrite_points_at_vendored_files_relative_to_the_page_and_drops_sri() -> None:
    page, count = rewrite_html(PAGE, "../../")
    assert count == 6
    assert 'href="../../static/vendor/bootstrap/dist/css/bootstrap.min.css"' in page
    assert '<script src="../../static/vendor/popper.js/dist/umd/popper.min.js"></script>' in page  # no SRI left
    assert 'src="../../static/vendor/vega/build/vega.min.js"' in page
    assert 'src="../../static/vendor/vega-lite/build/vega-lite.min.js"' in page
    assert "url('../../static/images/logo-long.png')" in page
    assert '<img src="../../static/images/logo-long.png"/>' in page
    assert '<a href="https://greatexpectations.io">' in page  # a link the reader may follow; nothing loads
    assert not any(host in page for host in CDN_HOSTS)
    assert rewrite_html(page, "../../") == (page, 0)


def fake_assets(root: Path) -> Path:
    for asset in docs_offline._ASSETS:
        (root / asset.file).parent.mkdir(parents=True, exist_ok=True)
        (root / asset.file).write_text(f"/* {asset.file} */")
        for folder in asset.extra_dirs:
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / "font.woff2").write_bytes(b"woff2")
    return root


def test_make_offline_vendors_and_rewrites_every_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "validations" / "ds" / "frame").mkdir(parents=True)
    (site / "index.html").write_text(PAGE)
    (site / "validations" / "ds" / "frame" / "run.html").write_text(PAGE)
    assert remote_loads(site)  # GX's pages load from CDNs before
    assets = fake_assets(tmp_path / "node_modules")
    assert make_offline(site, assets) == 12
    assert remote_loads(site) == []
    deep = (site / "validations" / "ds" / "frame" / "run.html").read_text()
    assert 'href="../../../static/vendor/bootstrap/dist/css/bootstrap.min.css"' in deep
    vendored = site / "static" / "vendor"
    assert (
        vendored / "bootstrap/dist/css/bootstrap.min.css"
    ).read_text() == "/* bootstrap/dist/css/bootstrap.min.css */"
    assert (vendored / "@fortawesome/fontawesome-free/webfonts/font.woff2").read_bytes() == b"woff2"
    assert make_offline(site, assets) == 0  # idempotent


def test_make_offline_since_rewrites_only_pages_written_since(tmp_path: Path) -> None:
    """An incremental Data Docs build renders a few pages: only those are read and rewritten."""
    import os

    site = tmp_path / "site"
    (site / "validations").mkdir(parents=True)
    old, new = site / "validations" / "old.html", site / "validations" / "new.html"
    for page in (site / "index.html", old, new):
        page.write_text(PAGE)
    os.utime(old, (1_000_000_000, 1_000_000_000))  # rendered by an earlier gate (2001)
    assert make_offline(site, fake_assets(tmp_path / "node_modules"), since=1_500_000_000) == 12  # 6 per page
    assert old.read_text() == PAGE  # not read, not rewritten
    assert remote_loads(site, [site / "index.html", new]) == []
    assert {entry.split(":", 1)[0] for entry in remote_loads(site)} == {"validations/old.html"}


def test_missing_vendored_files_say_run_make_web(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE)
    with pytest.raises(VendoredAssetsMissingError, match="run `make web`"):
        make_offline(site, tmp_path / "empty")
    assert (site / "index.html").read_text() == PAGE  # nothing half-rewritten


def test_no_site_says_build_the_docs_first(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="build the Data Docs first"):
        make_offline(tmp_path / "nothing", tmp_path)
