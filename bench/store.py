"""``make bench-store`` / ``make cluster-bench-store``: what the object store sustains here, for sizing.

Why (issue 15, the capacity table): the pipeline's writes are Parquet files of a few MB (Delta data
files) and small objects (log entries, landing spool segments, leases); reads are the same files.
This PUTs and then GETs ``--objects`` objects of each ``--sizes`` through the pipeline's own S3
client (``jobs.storage``), from ``--threads`` threads, under a throw-away prefix of the configured
bucket (deleted afterwards), and reports objects/s and MB/s per size and direction. Run it against
the laptop's one MinIO (``make bench-store``) or the cluster's four behind haproxy
(``make cluster-bench-store``): the same code, the endpoint from the configuration.

Results: a table and ``<state>/bench/store.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from jobs import storage
from jobs.settings import get_settings


def _timed(fn: Any, keys: list[str], threads: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fn, keys))
    return time.perf_counter() - started


def measure(sizes: list[int], objects: int, threads: int) -> dict[str, Any]:
    settings = get_settings()
    client = storage.s3_client(settings)
    prefix = f"bench/store/{uuid.uuid4().hex}/"
    results = []
    try:
        for size in sizes:
            body = os.urandom(size)  # incompressible, like Parquet pages
            keys = [f"{prefix}{size}/{i:06d}" for i in range(objects)]

            def put(key: str, body: bytes = body) -> None:
                client.put_object(Bucket=settings.bucket, Key=key, Body=body)

            def get(key: str, size: int = size) -> None:
                got = client.get_object(Bucket=settings.bucket, Key=key)["Body"].read()
                assert len(got) == size, f"{key}: {len(got)} bytes back, {size} written"

            for direction, fn in (("put", put), ("get", get)):
                seconds = _timed(fn, keys, threads)
                results.append(
                    {
                        "direction": direction,
                        "object_bytes": size,
                        "objects": objects,
                        "seconds": round(seconds, 3),
                        "objects_per_s": round(objects / seconds, 1),
                        "mb_per_s": round(objects * size / seconds / 1e6, 1),
                    }
                )
    finally:
        storage.delete_prefix(prefix, settings)
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "endpoint": settings.s3_endpoint,
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="4096,1048576,8388608", help="object sizes in bytes, comma-separated")
    parser.add_argument("--objects", type=int, default=64, help="objects per size (default 64)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent requests (default 8)")
    args = parser.parse_args()
    report = measure([int(s) for s in args.sizes.split(",")], args.objects, args.threads)
    out = get_settings().state_dir / "bench" / "store.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"store at {report['endpoint']}, {args.threads} threads, {report['cpu_count']} CPUs")
    print(f"{'direction':<9} {'object':>10} {'objects':>8} {'seconds':>8} {'objects/s':>10} {'MB/s':>8}")
    for r in report["results"]:
        print(
            f"{r['direction']:<9} {r['object_bytes']:>10,} {r['objects']:>8} {r['seconds']:>8.2f} "
            f"{r['objects_per_s']:>10,.1f} {r['mb_per_s']:>8.1f}"
        )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
