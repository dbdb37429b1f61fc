"""The sample HTTP API's protocol: ETags, conditional and ranged requests, cursors, confinement."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sample_sources.env import SourceEnv
from sample_sources.servers.http_api import serve_in_thread

CONTENT = b"0123456789"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f.csv").write_bytes(CONTENT)
    (root / "d" / "r.jsonl").write_text("".join(json.dumps({"n": i, "tên": "Hà Nội"}) + "\n" for i in range(5)))
    (tmp_path / "secret.txt").write_text("outside the root")
    server, url = serve_in_thread(root, token="unit-token")
    try:
        headers = {"Authorization": "Bearer unit-token"}
        with httpx.Client(base_url=url, headers=headers, verify=SourceEnv().client_tls_context()) as client:
            yield client
    finally:
        server.shutdown()
        server.server_close()


ETAG = f'"{hashlib.sha256(CONTENT).hexdigest()}"'


def test_files_conditional_and_ranged(api: httpx.Client) -> None:
    full = api.get("/files/d/f.csv")
    assert (full.status_code, full.content, full.headers["ETag"]) == (200, CONTENT, ETAG)
    assert full.headers["Content-Length"] == "10"
    assert api.get("/files/d/f.csv", headers={"If-None-Match": ETAG}).status_code == 304

    part = api.get("/files/d/f.csv", headers={"Range": "bytes=3-", "If-Range": ETAG})
    assert (part.status_code, part.content, part.headers["Content-Range"]) == (206, b"3456789", "bytes 3-9/10")
    stale = api.get("/files/d/f.csv", headers={"Range": "bytes=3-", "If-Range": '"old"'})
    assert (stale.status_code, stale.content) == (200, CONTENT)  # changed since: the whole file, never a splice
    beyond = api.get("/files/d/f.csv", headers={"Range": "bytes=10-"})
    assert (beyond.status_code, beyond.headers["Content-Range"]) == (416, "bytes */10")

    head = api.head("/files/d/f.csv")
    assert (head.status_code, head.content, head.headers["Content-Length"]) == (200, b"", "10")


def test_paths_outside_the_root_are_not_served(api: httpx.Client) -> None:
    assert api.get("/files/../secret.txt").status_code == 404
    assert api.get("/files/%2e%2e/secret.txt").status_code == 404
    assert api.get("/files/d").status_code == 404  # a directory is not a file


def test_pages_follow_opaque_cursors_to_the_end(api: httpx.Client) -> None:
    pages, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/pages/d/r.jsonl", params=params).json()
        pages.append([item["n"] for item in page["items"]])
        assert page["total"] == 5
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [[0, 1], [2, 3], [4]]
    assert api.get("/api/pages/d/r.jsonl", params={"limit": 2}).json()["items"][0]["tên"] == "Hà Nội"
    assert api.get("/api/pages/d/r.jsonl", params={"limit": 0}).status_code == 400
    assert api.get("/api/pages/d/r.jsonl", params={"cursor": "not-a-cursor"}).status_code == 400
    assert api.get("/api/pages/d/f.csv").status_code == 404  # only JSON-lines files paginate
