"""The store speaks TLS only, and every client checks its certificate against the local CA.

Against the real store `make test` started (its port from ``LAKEHOUSE_S3_ENDPOINT``, no fixed port),
in a throw-away bucket holding one small Delta table. Each client is shown three ways: with the
local CA it works (the control); over plain HTTP it gets no S3 answer; over HTTPS trusting other
roots (certifi's public bundle, or a second local CA made by infra/gen_tls.py) the handshake fails
verification. Clients: raw HTTP (httpx), boto3 (jobs.storage), the MinIO SDK (the admin client of
infra/store/bootstrap.py), delta-rs (what DuckDB reads through) and Spark's S3A (the JVM's truststore).
"""

from __future__ import annotations

import dataclasses
import os
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pyarrow as pa
import pytest
from cryptography import x509

from jobs.settings import Settings
from tests.infra_scripts import load_infra_script
from tests.lakehouse_fixtures import REPO, lake_bucket

pytestmark = pytest.mark.integration

TABLE = "gold/tls_probe/table"
ROWS = {"station_id": ["HN01", "DN02", "HP03"], "vn_aqi": [57, 121, 88]}


@dataclasses.dataclass(frozen=True)
class Store:
    settings: Settings  # the pipeline writer's, on the test bucket, trusting the local CA
    other_ca: Path  # a second local CA (with its truststore): the store's certificate is not signed by it

    @property
    def plain_http(self) -> str:
        return self.settings.s3_endpoint.replace("https://", "http://", 1)


def _gen_tls() -> Any:
    """infra/gen_tls.py, the script `make tls` runs."""
    return load_infra_script("gen_tls")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    from deltalake import write_deltalake

    from jobs.settings import get_settings

    tmp = tmp_path_factory.mktemp("store_tls")
    _gen_tls().generate(tmp / "other-ca")
    with lake_bucket("tls", tmp / "sources", tmp / "gx"):
        settings = get_settings()
        write_deltalake(settings.s3_uri(TABLE), pa.table(ROWS), storage_options=settings.delta_rs_storage_options())
        yield Store(settings, tmp / "other-ca" / "ca.crt")
        settings.trust_store_ca_in_rustls()  # whatever a test left in SSL_CERT_FILE


def _untrusting(store: Store) -> Settings:
    """The same identity and endpoint, checking the store against the other CA."""
    return dataclasses.replace(
        store.settings, s3_ca=str(store.other_ca), s3_truststore=store.other_ca.with_name("truststore.p12")
    )


def test_the_endpoint_is_https_on_the_test_store(store: Store) -> None:
    endpoint = urlparse(store.settings.s3_endpoint)
    assert endpoint.scheme == "https" and endpoint.hostname == "127.0.0.1"
    assert endpoint.port == int(os.environ["LAKEHOUSE_S3_PORT"])
    assert store.settings.s3_ca_file == store.settings.tls_ca and store.settings.tls_ca.is_file()


def test_plain_http_gets_no_s3_answer(store: Store) -> None:
    """MinIO answers any plain-HTTP request on its port with a bare 400, before reading the request:
    no S3 listing, no health, whatever the credentials."""
    bucket = store.settings.bucket
    with httpx.Client(base_url=store.plain_http, timeout=10) as plain:
        for path in ("/minio/health/live", f"/{bucket}?list-type=2", f"/{bucket}/{TABLE}/_delta_log/"):
            response = plain.get(path)
            assert response.status_code == 400, (path, response.status_code, response.text[:200])
            assert "HTTP request to an HTTPS server" in response.text
            assert "ListBucketResult" not in response.text
    # The same over TLS, checked against the local CA, is the store's own answer (the control).
    with httpx.Client(base_url=store.settings.s3_endpoint, verify=store.settings.tls_context(), timeout=10) as tls:
        assert tls.get("/minio/health/live").status_code == 200
        assert "<Code>AccessDenied</Code>" in tls.get(f"/{bucket}?list-type=2").text  # anonymous: refused by policy


def test_boto3_verifies_the_store(store: Store) -> None:
    from botocore.exceptions import BotoCoreError, ClientError, SSLError

    from jobs.storage import s3_client

    listed = s3_client(store.settings).list_objects_v2(Bucket=store.settings.bucket, Prefix=TABLE)
    assert listed["KeyCount"] > 0  # with the local CA
    plain = dataclasses.replace(store.settings, s3_endpoint=store.plain_http, s3_retry_limit=0)
    with pytest.raises((ClientError, BotoCoreError)):
        s3_client(plain).list_objects_v2(Bucket=store.settings.bucket, Prefix=TABLE)
    # boto3 checking against the other CA, and with its own default roots (certifi's public bundle)
    for client in (s3_client(dataclasses.replace(_untrusting(store), s3_retry_limit=0)), _boto3_default_roots(store)):
        with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            client.list_objects_v2(Bucket=store.settings.bucket, Prefix=TABLE)


def _boto3_default_roots(store: Store) -> Any:
    import boto3
    from botocore.config import Config

    settings = store.settings
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )


def test_raw_https_without_the_local_ca_fails_verification(store: Store) -> None:
    import certifi

    for cafile in (certifi.where(), str(store.other_ca)):
        roots = ssl.create_default_context(cafile=cafile)
        client = httpx.Client(base_url=store.settings.s3_endpoint, verify=roots, timeout=10)
        with client, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get("/minio/health/live")


def test_minio_admin_client_verifies_the_store(store: Store) -> None:
    """The admin client of infra/store/bootstrap.py (root credentials) works with the local CA only."""
    from urllib3.exceptions import MaxRetryError, SSLError

    from infra.store.bootstrap import admin_client

    root = os.environ["MINIO_ROOT_USER"], os.environ["MINIO_ROOT_PASSWORD"]
    assert store.settings.s3_access_key in admin_client(store.settings, *root).user_list()
    with pytest.raises((MaxRetryError, SSLError)) as refused:
        admin_client(_untrusting(store), *root).user_list()
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)


def test_delta_rs_verifies_the_store(store: Store) -> None:
    """delta-rs takes its roots from SSL_CERT_FILE (no CA option, delta-io/delta-rs#4246), which
    ``delta_rs_storage_options`` points at the store's CA; DuckDB queries read through it."""
    from deltalake import DeltaTable

    def rows(settings: Settings) -> int:
        options = settings.delta_rs_storage_options()
        assert os.environ["SSL_CERT_FILE"] == str(settings.s3_ca_file)
        return DeltaTable(settings.s3_uri(TABLE), storage_options=options).to_pyarrow_table().num_rows

    try:
        with pytest.raises(OSError, match=r"(?i)certificate"):
            rows(_untrusting(store))
        plain = dataclasses.replace(store.settings, s3_endpoint=store.plain_http)
        with pytest.raises(OSError):
            DeltaTable(plain.s3_uri(TABLE), storage_options=plain.delta_rs_storage_options())
        assert plain.delta_rs_storage_options()["AWS_ALLOW_HTTP"] == "true"
    finally:
        assert rows(store.settings) == len(ROWS["vn_aqi"])  # the control, and SSL_CERT_FILE restored


def test_duckdb_query_reads_over_tls(store: Store) -> None:
    import duckdb
    from deltalake import DeltaTable

    table = DeltaTable(store.settings.s3_uri(TABLE), storage_options=store.settings.delta_rs_storage_options())
    con = duckdb.connect(config={"enable_external_access": False, "autoinstall_known_extensions": False})
    con.register("probe", table.to_pyarrow_dataset())
    assert con.sql("SELECT sum(vn_aqi) FROM probe").fetchall() == [(266,)]


# Run in a fresh process: Hadoop's S3A builds one TLS socket factory per JVM (DelegatingSSLSocketFactory),
# so a JVM that trusted the local CA once keeps trusting it; another trust needs another JVM.
_SPARK_PROBE = """
import json, sys
from jobs.settings import get_settings
from jobs.spark import get_spark
settings = get_settings()
spark = get_spark(settings=settings)
jvm = spark.sparkContext._jvm
arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
result = {"truststore": jvm.java.lang.System.getProperty("javax.net.ssl.trustStore"), "arguments": arguments}
try:
    result["rows"] = spark.read.format("delta").load(settings.s3a_uri(sys.argv[1])).count()
except Exception as err:
    result["error"] = str(err)[:4000]
print("PROBE " + json.dumps(result))
"""


def _spark_probe(extra_env: dict[str, str]) -> dict[str, Any]:
    import json
    import subprocess

    env = {**os.environ, "LAKEHOUSE_SPARK_MASTER": "local[1]", "LAKEHOUSE_S3_RETRY_LIMIT": "0", **extra_env}
    done = subprocess.run(
        [sys.executable, "-c", _SPARK_PROBE, TABLE], env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("PROBE ")), None)
    assert line is not None, (done.returncode, done.stdout[-2000:], done.stderr[-4000:])
    return dict(json.loads(line.removeprefix("PROBE ")))


def test_spark_s3a_verifies_the_store(store: Store) -> None:
    """Spark's JVM trusts exactly the local CA (its truststore) and S3A reads the table over TLS; S3A
    over plain HTTP gets no S3 answer; a Spark whose truststore holds the other CA fails the handshake."""
    from py4j.protocol import Py4JJavaError

    from jobs.spark import get_spark

    settings = store.settings
    local_ca = x509.load_pem_x509_certificate(settings.tls_ca.read_bytes())
    assert _gen_tls().truststore_certificates(settings.s3_truststore) == [local_ca]
    spark = get_spark(settings=settings)
    jvm = spark.sparkContext._jvm  # type: ignore[union-attr]
    assert jvm.java.lang.System.getProperty("javax.net.ssl.trustStore") == str(settings.s3_truststore)
    assert spark.read.format("delta").load(settings.s3a_uri(TABLE)).count() == len(ROWS["vn_aqi"])

    conf = jvm.org.apache.hadoop.conf.Configuration(spark.sparkContext._jsc.hadoopConfiguration())  # type: ignore[union-attr]
    for key, value in {
        "fs.s3a.impl.disable.cache": "true",  # a new S3A client, not the session's cached one
        "fs.s3a.retry.limit": "0",
        "fs.s3a.attempts.maximum": "1",
        "fs.s3a.endpoint": store.plain_http,
        "fs.s3a.connection.ssl.enabled": "false",
    }.items():
        conf.set(key, value)
    path = jvm.org.apache.hadoop.fs.Path(settings.s3a_uri(TABLE))
    with pytest.raises(Py4JJavaError, match=r"400|Bad Request"):
        path.getFileSystem(conf).listStatus(path)

    # A fresh Spark (get_spark in another process) whose truststore holds the other CA: the truststore
    # reaches its JVM's command line, and S3A refuses the store's certificate.
    other = str(_untrusting(store).s3_truststore)
    untrusted = _spark_probe({"LAKEHOUSE_S3_CA": str(store.other_ca), "LAKEHOUSE_S3_TRUSTSTORE": other})
    assert f"-Djavax.net.ssl.trustStore={other}" in untrusted["arguments"], untrusted["arguments"]
    assert untrusted["truststore"] == other and "rows" not in untrusted, untrusted
    assert "PKIX path" in untrusted["error"], untrusted["error"]  # building (unknown CA) or validation (same name)
