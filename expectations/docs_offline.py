"""Make the GX Data Docs site render offline: vendored CSS/JS instead of CDN links.

Great Expectations writes every Data Docs page with ``<script>``/``<link>`` tags pointing at public
CDNs (bootstrap, jquery, vega, font-awesome, …) and a logo on S3. On a ministry network, or on a
laptop without internet, those pages then render unstyled and the charts stay empty. ``make web``
installs the exact same packages from the npm registry into ``.cache/web/node_modules``;
:func:`make_offline` copies the files a page needs into ``<site>/static/vendor/`` and rewrites each
CDN URL to a relative path. Run it after every Data Docs build (GX rewrites the pages each time).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from jobs.settings import REPO_ROOT

log = logging.getLogger(__name__)

VENDOR_DIR = "static/vendor"
"""Where, inside the site, the vendored files go."""


@dataclass(frozen=True)
class Asset:
    """One CDN URL (as a regex) and the file of an npm package that replaces it."""

    url: str  # regex matched against the whole URL
    file: str  # path under node_modules
    extra_dirs: tuple[str, ...] = ()  # folders the file refers to (fonts), copied alongside


_ASSETS: tuple[Asset, ...] = (
    Asset(
        r"https://maxcdn\.bootstrapcdn\.com/bootstrap/4\.3\.1/css/bootstrap\.min\.css",
        "bootstrap/dist/css/bootstrap.min.css",
    ),
    Asset(
        r"https://stackpath\.bootstrapcdn\.com/bootstrap/4\.3\.1/js/bootstrap\.min\.js",
        "bootstrap/dist/js/bootstrap.min.js",
    ),
    Asset(r"https://code\.jquery\.com/jquery-3\.7\.1\.min\.js", "jquery/dist/jquery.min.js"),
    Asset(
        r"https://cdnjs\.cloudflare\.com/ajax/libs/popper\.js/1\.12\.9/umd/popper\.min\.js",
        "popper.js/dist/umd/popper.min.js",
    ),
    Asset(
        r"https://unpkg\.com/bootstrap-table@1\.19\.1/dist/bootstrap-table\.min\.css",
        "bootstrap-table/dist/bootstrap-table.min.css",
    ),
    Asset(
        r"https://unpkg\.com/bootstrap-table@1\.19\.1/dist/bootstrap-table\.min\.js",
        "bootstrap-table/dist/bootstrap-table.min.js",
    ),
    Asset(
        r"https://unpkg\.com/bootstrap-table@1\.19\.1/dist/extensions/filter-control/bootstrap-table-filter-control\.min\.js",
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    ),
    # GX links the filter-control CSS of 1.19.0 next to the 1.19.1 table; the extension's CSS
    # is the same few rules in both, so the vendored 1.19.1 copy serves both links.
    Asset(
        r"https://unpkg\.com/bootstrap-table@1\.19\.[01]/dist/extensions/filter-control/bootstrap-table-filter-control\.min\.css",
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    ),
    Asset(
        r"https://unpkg\.com/bootstrap-table@1\.19\.[01]/dist/extensions/filter-control/bootstrap-table-filter-control\.css",
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.css",
    ),
    Asset(
        r"https://cdnjs\.cloudflare\.com/ajax/libs/bootstrap-datepicker/1\.9\.0/css/bootstrap-datepicker\.min\.css",
        "bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css",
    ),
    Asset(
        r"https://cdnjs\.cloudflare\.com/ajax/libs/bootstrap-datepicker/1\.9\.0/js/bootstrap-datepicker\.min\.js",
        "bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js",
    ),
    Asset(
        r"https://cdnjs\.cloudflare\.com/ajax/libs/font-awesome/6\.6\.0/css/all\.min\.css",
        "@fortawesome/fontawesome-free/css/all.min.css",
        extra_dirs=("@fortawesome/fontawesome-free/webfonts",),
    ),
    Asset(
        r"https://cdn\.jsdelivr\.net/npm/@forevolve/bootstrap-dark@1\.1\.0/dist/css/bootstrap-prefers-dark\.css",
        "@forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.css",
    ),
    Asset(r"https://cdn\.jsdelivr\.net/npm/vega@5", "vega/build/vega.min.js"),
    Asset(r"https://cdn\.jsdelivr\.net/npm/vega-lite@5", "vega-lite/build/vega-lite.min.js"),
    Asset(r"https://cdn\.jsdelivr\.net/npm/vega-embed@6", "vega-embed/build/vega-embed.min.js"),
)

# The GX logo lives on S3; the site ships the same picture in its own static/images.
_LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[A-Za-z_-]+\.png(\?[^\"')\s]*)?"
)
_LOCAL_LOGO = "static/images/logo-long.png"

CDN_HOSTS = (
    "maxcdn.bootstrapcdn.com",
    "stackpath.bootstrapcdn.com",
    "code.jquery.com",
    "cdnjs.cloudflare.com",
    "unpkg.com",
    "cdn.jsdelivr.net",
    "great-expectations-web-assets.s3",
)
"""Hosts the GX pages load from; none may remain after :func:`make_offline`."""

_URL = re.compile(r"https?://[^\s\"'()<>]+")
_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.IGNORECASE)
_SRI = re.compile(r"\s+(?:integrity|crossorigin)=(?:\"[^\"]*\"|'[^']*'|[^\s>]+)", re.IGNORECASE)
# A URL that the browser fetches by itself: src=, <link href=>, CSS url(...).
_LOADS = re.compile(
    r"(?:\bsrc\s*=\s*[\"']?|<link\b[^>]*\bhref\s*=\s*[\"']?|url\(\s*[\"']?)(https?://[^\s\"')>]+)", re.IGNORECASE
)


class VendoredAssetsMissingError(RuntimeError):
    """The npm-installed CSS/JS are not there: the site would keep its CDN links."""


def default_assets_dir() -> Path:
    """``node_modules`` filled by ``make web`` (override with LAKEHOUSE_WEB_ASSETS_DIR)."""
    return Path(os.environ.get("LAKEHOUSE_WEB_ASSETS_DIR") or REPO_ROOT / ".cache" / "web" / "node_modules")


def _copy(src: Path, dest: Path) -> None:
    if dest.exists() and dest.stat().st_size == src.stat().st_size:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def vendor(site_dir: Path, assets_dir: Path | None = None) -> None:
    """Copy every vendored file (and font folder) into ``<site>/static/vendor``."""
    assets_dir = assets_dir or default_assets_dir()
    missing = [a.file for a in _ASSETS if not (assets_dir / a.file).is_file()]
    if missing:
        raise VendoredAssetsMissingError(
            f"The Data Docs' CSS/JS are not installed in {assets_dir} (missing e.g. {missing[0]}): "
            "run `make web` (it installs them from the npm registry with `npm ci`), or set "
            "LAKEHOUSE_WEB_ASSETS_DIR to a node_modules folder that has them."
        )
    target = site_dir / VENDOR_DIR
    for asset in _ASSETS:
        _copy(assets_dir / asset.file, target / asset.file)
        for folder in asset.extra_dirs:
            for src in (assets_dir / folder).iterdir():
                if src.is_file():
                    _copy(src, target / folder / src.name)


def _local(url: str) -> str | None:
    """Site-relative path that replaces a CDN URL, or None when the URL is not a known asset."""
    for asset in _ASSETS:
        if re.fullmatch(asset.url, url):
            return f"{VENDOR_DIR}/{asset.file}"
    if _LOGO.fullmatch(url):
        return _LOCAL_LOGO
    return None


def rewrite_html(text: str, prefix: str) -> tuple[str, int]:
    """Point a page's CDN URLs at ``prefix + <site-relative path>``; returns (page, URLs rewritten).

    Tags whose URL changed lose ``integrity``/``crossorigin``: the npm build of a file need not be
    byte-identical to the CDN's, and a CORS-mode load of a ``file://`` URL is refused anyway.
    """
    count = 0

    def url(match: re.Match[str]) -> str:
        nonlocal count
        local = _local(match.group(0))
        if local is None:
            return match.group(0)
        count += 1
        return prefix + local

    def tag(match: re.Match[str]) -> str:
        before = count
        rewritten = _URL.sub(url, match.group(0))
        return _SRI.sub("", rewritten) if count > before else rewritten

    text = _TAG.sub(tag, text)
    text = _URL.sub(url, text)  # what is left: CSS url(...) in <style> blocks
    return text, count


def _pages(site_dir: Path, since: float | None) -> list[Path]:
    return sorted(p for p in site_dir.rglob("*.html") if since is None or p.stat().st_mtime >= since)


def make_offline(site_dir: Path, assets_dir: Path | None = None, since: float | None = None) -> int:
    """Vendor the CSS/JS into the site and rewrite its pages; returns how many URLs it rewrote.

    ``since`` (a ``time.time()``): only pages written since then, i.e. the ones an incremental
    build just rendered; the others were rewritten when they were built. Idempotent: a page
    already rewritten has nothing left to rewrite. Raises :class:`VendoredAssetsMissingError`
    (saying to run ``make web``) when the files are not installed.
    """
    site_dir = Path(site_dir)
    if not (site_dir / "index.html").is_file():
        raise FileNotFoundError(f"No Data Docs site at {site_dir} (no index.html): build the Data Docs first.")
    vendor(site_dir, assets_dir)
    total = 0
    pages = _pages(site_dir, since)
    for page in pages:
        depth = len(page.relative_to(site_dir).parts) - 1
        text = page.read_text(encoding="utf-8")
        new, n = rewrite_html(text, "../" * depth)
        if n:
            page.write_text(new, encoding="utf-8")
            total += n
    left = remote_loads(site_dir, pages)
    if left:
        log.warning("Data Docs still load %d remote URL(s), e.g. %s", len(left), left[0])
    return total


def remote_loads(site_dir: Path, pages: list[Path] | None = None) -> list[str]:
    """Every ``http(s)`` URL a page of the site (or of ``pages``) would fetch by itself (``page: url``);
    links are not counted."""
    found = []
    for page in _pages(Path(site_dir), None) if pages is None else pages:
        text = page.read_text(encoding="utf-8")
        found += [f"{page.relative_to(site_dir)}: {m.group(1)}" for m in _LOADS.finditer(text)]
    return found
