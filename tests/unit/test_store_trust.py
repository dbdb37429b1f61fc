"""How each store client is told which CA to trust (no store needed): settings, the Java truststore
of infra/gen_tls.py, and what jobs/spark.py puts on the JVM's command line."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from jobs.settings import MissingSettingError, Settings
from tests.infra_scripts import load_infra_script

REPO = Path(__file__).resolve().parents[2]


def _gen_tls() -> Any:
    """infra/gen_tls.py, the script `make tls` runs."""
    return load_infra_script("gen_tls")


@pytest.fixture(scope="module")
def cas(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two local CAs as `make tls` makes them (ca.crt, server cert, truststore.p12)."""
    root = tmp_path_factory.mktemp("cas")
    for name in ("one", "two"):
        assert _gen_tls().generate(root / name)
    return root / "one", root / "two"


def _settings(tls: Path, **changes: Any) -> Settings:
    base = Settings(s3_endpoint="https://127.0.0.1:9900", tls_ca=tls / "ca.crt", s3_ca="")
    return dataclasses.replace(base, **{"s3_truststore": tls / "truststore.p12", **changes})


def test_truststore_holds_exactly_the_ca_and_is_rewritten_when_stale(cas: tuple[Path, Path]) -> None:
    gen_tls = _gen_tls()
    one, two = cas
    ca = x509.load_pem_x509_certificate((one / "ca.crt").read_bytes())
    assert gen_tls.truststore_certificates(one / "truststore.p12") == [ca]
    assert not gen_tls.generate(one)  # idempotent: nothing rewritten
    (one / "truststore.p12").write_bytes((two / "truststore.p12").read_bytes())  # a stale truststore
    assert gen_tls.generate(one)
    assert gen_tls.truststore_certificates(one / "truststore.p12") == [ca]


def test_https_store_is_checked_against_the_local_ca_by_default(cas: tuple[Path, Path]) -> None:
    one, _ = cas
    settings = _settings(one)
    assert settings.s3_ssl and settings.s3_ca_file == one / "ca.crt"
    assert settings.s3_verify == str(one / "ca.crt")  # boto3: a CA file, never False
    assert settings.s3_jvm_trust_options() == {
        "javax.net.ssl.trustStore": str(one / "truststore.p12"),
        "javax.net.ssl.trustStoreType": "PKCS12",
    }


def test_missing_or_mismatched_trust_fails_with_the_fix(cas: tuple[Path, Path], tmp_path: Path) -> None:
    one, two = cas
    with pytest.raises(MissingSettingError, match="make tls"):
        _ = _settings(tmp_path).s3_ca_file  # no CA there
    with pytest.raises(MissingSettingError, match="does not hold the store's CA"):
        _settings(one, s3_truststore=two / "truststore.p12").s3_jvm_trust_options()
    with pytest.raises(MissingSettingError, match="no Java truststore"):
        _settings(one, s3_truststore=tmp_path / "none.p12").s3_jvm_trust_options()


def test_plain_http_or_a_publicly_trusted_store_adds_no_trust(cas: tuple[Path, Path]) -> None:
    one, _ = cas
    for settings in (_settings(one, s3_endpoint="http://127.0.0.1:9900"), _settings(one, s3_ca="system")):
        assert settings.s3_ca_file is None and settings.s3_verify is True
        assert settings.s3_jvm_trust_options() == {}


def test_delta_rs_gets_the_ca_through_ssl_cert_file(cas: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    one, _ = cas
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
    options = _settings(one, s3_access_key="k", s3_secret_key="s").delta_rs_storage_options()
    assert options["AWS_ENDPOINT_URL"].startswith("https://") and options["AWS_ALLOW_HTTP"] == "false"
    assert os.environ["SSL_CERT_FILE"] == str(one / "ca.crt")


def test_spark_gets_the_truststore_on_the_jvm_command_line(
    cas: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The builder options jobs/spark.py passes for an https store (read back from a stub builder)."""
    import jobs.spark as spark_module

    one, _ = cas
    java = "-XX:+UseParallelGC"
    settings = _settings(one, s3_access_key="k", s3_secret_key="s", spark_java_options=java, spark_adaptive=False)
    seen: dict[str, str] = {}

    class Builder:
        def __getattr__(self, _name: str) -> Any:
            return lambda *args, **kwargs: self

        def config(self, key: str, value: str) -> Builder:
            seen[key] = value
            return self

        def getOrCreate(self) -> Any:  # Spark's name
            raise RuntimeError("stop before a JVM starts")

    class Session:
        builder = Builder()

    import pyspark.sql

    monkeypatch.setattr(pyspark.sql, "SparkSession", Session)
    with pytest.raises(RuntimeError, match="stop before"):
        spark_module.get_spark(settings=settings)
    expected = (
        f"{java} '-Djavax.net.ssl.trustStore={one / 'truststore.p12'}' "
        "'-Djavax.net.ssl.trustStoreType=PKCS12'"
    )  # the configured JVM options, then the truststore
    assert seen["spark.driver.extraJavaOptions"] == expected == seen["spark.executor.extraJavaOptions"]
    assert seen["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "true"
    assert seen["spark.sql.adaptive.enabled"] == "false"  # LAKEHOUSE_SPARK_ADAPTIVE reaches the session
    assert not any(k.endswith(("access.key", "secret.key")) for k in seen)  # keys never on the command line
