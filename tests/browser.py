"""Headless Chromium for the tests of pages people look at (steward report, Data Docs, live page)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with no network chatter (it would hang on the closed network) and a fresh profile."""
    binary = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(binary, os.X_OK):
        raise RuntimeError("Chromium is not installed: run `make chromium` (Debian's chromium package).")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
        ]
        result = subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def distinct_colours(png: Path) -> int:
    """How many distinct pixel colours a screenshot has (Pillow if present; else from the PNG's own bytes)."""
    try:
        from PIL import Image
    except ImportError:
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        pos, idat = 8, b""
        while pos < len(data):
            length = int.from_bytes(data[pos : pos + 4], "big")
            if data[pos + 4 : pos + 8] == b"IDAT":
                idat += data[pos + 8 : pos + 8 + length]
            pos += 12 + length
        # A lower bound good enough to tell a page from a blank one: distinct byte values of the
        # (filtered) image data; a blank screenshot has a handful.
        return len(set(zlib.decompress(idat)))
    with Image.open(png) as image:
        return len(image.convert("RGB").getcolors(maxcolors=1 << 24) or [])
