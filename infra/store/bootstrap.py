"""Prepare the store after it starts: the buckets, the pipeline's writer and the ministries' readers.

Runs with the root credentials (the only place that uses them); every job then runs as the
``LAKEHOUSE_S3_ACCESS_KEY`` identity, limited by policy to the lake and open-data buckets. Each
ministry gets a read-only identity ``ministry-<code>`` whose policy (``jobs.access.policy_for``,
derived from the registry) allows exactly the tables it may read. Uses the MinIO
admin API through the Apache-2.0 ``minio`` Python SDK, over TLS checked against the store's CA
(``http_client``); another S3 store would get its writer identity from its own admin tooling, and
the pipeline would not notice. Idempotent.
"""

from __future__ import annotations

import json
import os
import sys
from urllib.parse import urlparse

import urllib3
from minio import Minio, MinioAdmin
from minio.credentials import StaticProvider

from jobs.access import credential_env, policy_for
from jobs.registry import Ministry
from jobs.settings import Settings


def http_client(settings: Settings) -> urllib3.PoolManager:
    """What the MinIO SDK talks through: the store's certificate checked against ``settings.s3_ca_file``
    (the local CA), never unchecked. The SDK's own default would take ``SSL_CERT_FILE`` or certifi's
    bundle; its timeouts and retries are kept."""
    ca = settings.s3_ca_file
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=300, read=300),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=str(ca) if ca is not None else None,  # None: the platform's trust (LAKEHOUSE_S3_CA=system)
        # A restarted distributed MinIO answers its health check before it has loaded its identities and
        # policies, and its admin API answers 503 meanwhile (a cluster-up after cluster-down failed after the 6 s
        # that 5 retries from 0.2 s waited): retries up to ≈ 90 s (0.5 s doubling, at most 10 s apart).
        retries=urllib3.Retry(total=12, backoff_factor=0.5, backoff_max=10, status_forcelist=[500, 502, 503, 504]),
    )


def admin_client(settings: Settings, access_key: str, secret_key: str) -> MinioAdmin:
    """MinIO's admin API at ``settings.s3_endpoint`` as the given identity, over TLS checked against its CA."""
    endpoint = urlparse(settings.s3_endpoint)
    return MinioAdmin(
        endpoint=endpoint.netloc,
        credentials=StaticProvider(access_key, secret_key),
        secure=endpoint.scheme == "https",
        http_client=http_client(settings),
    )


def _attach(admin: MinioAdmin, policy_name: str, user: str) -> None:
    try:
        admin.attach_policy([policy_name], user=user)
    except Exception as err:  # attaching an already-attached policy is an error in the admin API
        if "already" not in str(err).lower():
            raise


def provision_ministries(
    admin: MinioAdmin, bucket: str, opendata_bucket: str, user_suffix: str = ""
) -> dict[Ministry, tuple[str, str]]:
    """Create or update every ministry's read-only user and its policy on ``bucket`` (idempotent).

    The user is the ministry's access key (``LAKEHOUSE_MINISTRY_<CODE>_ACCESS_KEY``, by default
    ``ministry-<code>``) plus ``user_suffix``, so tests can give a throw-away bucket its own
    identities. Returns each ministry's (access key, secret key).
    """
    credentials = {}
    for ministry in Ministry:
        access_name, secret_name = credential_env(ministry)
        user, secret = os.environ[access_name] + user_suffix, os.environ[secret_name]
        if not 3 <= len(user) <= 20:
            raise ValueError(f"store user {user!r} must have 3-20 characters; shorten {access_name} or the suffix")
        policy_name = f"{bucket}-ministry-{ministry.code}"
        admin.policy_add(policy_name, policy=policy_for(ministry, bucket, opendata_bucket))
        admin.user_add(user, secret)
        _attach(admin, policy_name, user)
        credentials[ministry] = (user, secret)
    return credentials


def remove_ministries(admin: MinioAdmin, bucket: str, user_suffix: str = "") -> None:
    """Delete the users and policies :func:`provision_ministries` made (tests clean up with it)."""
    for ministry in Ministry:
        admin.user_remove(os.environ[credential_env(ministry)[0]] + user_suffix)
        admin.policy_remove(f"{bucket}-ministry-{ministry.code}")


def public_read_policy(bucket: str) -> dict[str, object]:
    """Anonymous read of the open-data bucket: anyone may list and download what is published."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            },
        ],
    }


def main() -> None:
    settings = Settings()  # endpoint (https://127.0.0.1:<port> from make), bucket and the store's CA
    bucket = settings.bucket
    opendata = settings.opendata_bucket
    root_user, root_password = os.environ["MINIO_ROOT_USER"], os.environ["MINIO_ROOT_PASSWORD"]
    writer, writer_secret = os.environ["LAKEHOUSE_S3_ACCESS_KEY"], os.environ["LAKEHOUSE_S3_SECRET_KEY"]
    parsed = urlparse(settings.s3_endpoint)
    client = Minio(
        parsed.netloc,
        access_key=root_user,
        secret_key=root_password,
        secure=parsed.scheme == "https",
        http_client=http_client(settings),
    )
    for name in (bucket, opendata):
        if not client.bucket_exists(name):
            client.make_bucket(name)
    client.set_bucket_policy(opendata, json.dumps(public_read_policy(opendata)))
    admin = admin_client(settings, root_user, root_password)
    policy_name = f"{bucket}-pipeline-writer"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}-test*", f"arn:aws:s3:::{opendata}"],
            },
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": [
                    f"arn:aws:s3:::{bucket}/*",
                    f"arn:aws:s3:::{bucket}-test*/*",
                    f"arn:aws:s3:::{opendata}/*",
                ],
            },
            # Tests work in throw-away buckets named <bucket>-test-*; never in the real one.
            {
                "Effect": "Allow",
                "Action": ["s3:CreateBucket", "s3:DeleteBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}-test*"],
            },
            {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": ["arn:aws:s3:::*"]},
        ],
    }
    admin.policy_add(policy_name, policy=policy)
    admin.user_add(writer, writer_secret)
    _attach(admin, policy_name, writer)
    readers = provision_ministries(admin, bucket, opendata)
    print(
        f"bucket {bucket!r} ready; pipeline identity {writer!r} limited to it and to open data {opendata!r} "
        f"(public read); read-only ministry identities: {', '.join(user for user, _ in readers.values())}"
    )


if __name__ == "__main__":
    try:
        main()
    except KeyError as missing:
        sys.exit(f"{missing} is not set: run through `make store`, which loads .state/secrets.env")
