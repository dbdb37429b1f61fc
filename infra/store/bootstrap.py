"""Prepare the store after it starts: the lake bucket and the pipeline's own writer identity.

Runs with the root credentials (the only place that uses them); every job then runs as the
``LAKEHOUSE_S3_ACCESS_KEY`` identity, limited by policy to the lake bucket. Uses the MinIO
admin API through the Apache-2.0 ``minio`` Python SDK; another S3 store would get its writer
identity from its own admin tooling, and the pipeline would not notice. Idempotent.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlparse

from minio import Minio, MinioAdmin
from minio.credentials import StaticProvider


def main() -> None:
    endpoint = os.environ.get("LAKEHOUSE_S3_ENDPOINT", "http://127.0.0.1:9900")
    bucket = os.environ.get("LAKEHOUSE_BUCKET", "lakehouse")
    root_user, root_password = os.environ["MINIO_ROOT_USER"], os.environ["MINIO_ROOT_PASSWORD"]
    writer, writer_secret = os.environ["LAKEHOUSE_S3_ACCESS_KEY"], os.environ["LAKEHOUSE_S3_SECRET_KEY"]
    parsed = urlparse(endpoint)
    secure = parsed.scheme == "https"
    client = Minio(parsed.netloc, access_key=root_user, secret_key=root_password, secure=secure)
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
    admin = MinioAdmin(endpoint=parsed.netloc, credentials=StaticProvider(root_user, root_password), secure=secure)
    policy_name = f"{bucket}-pipeline-writer"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}-test*"],
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
                "Resource": [f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}-test*/*"],
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
    try:
        admin.attach_policy([policy_name], user=writer)
    except Exception as err:  # attaching an already-attached policy is an error in the admin API
        if "already" not in str(err).lower():
            raise
    print(f"bucket {bucket!r} ready; pipeline identity {writer!r} limited to it")


if __name__ == "__main__":
    try:
        main()
    except KeyError as missing:
        sys.exit(f"{missing} is not set: run through `make store`, which loads .state/secrets.env")
