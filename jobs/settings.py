"""Deployment settings, read from the environment with laptop defaults.

Everything that differs between a laptop and a cluster (S3 endpoint and keys, Spark master,
where sample sources live) is configuration, never code: point these variables at an existing
Spark cluster or S3 store and the same jobs run unchanged. The Makefile exports the generated
secrets from ``.state/secrets.env``; nothing here holds a credential.
"""

from __future__ import annotations

import os
import socket
import ssl
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "true" if default else "false").lower() in {"1", "true", "yes", "on"}


def _tls_ca() -> Path:
    """``LAKEHOUSE_TLS_CA``, by default ``<state dir>/tls/ca.crt`` (made by infra/gen_tls.py)."""
    state = Path(_env("LAKEHOUSE_STATE_DIR", str(REPO_ROOT / ".state")))
    return Path(_env("LAKEHOUSE_TLS_CA", str(state / "tls" / "ca.crt")))


@dataclass(frozen=True)
class InputLimits:
    """How much one hostile input may cost before it is quarantined or refused (all in one place).

    A record (one landed line) longer than ``max_record_chars`` is quarantined (``RECORD_TOO_LARGE``)
    before any regex or JSON parser sees it, so a 10 MB field cannot exhaust a parser's stack; a
    CSV record with more than ``max_fields`` fields is quarantined (``TOO_MANY_FIELDS``) and a header
    with more is refused; a JSON record nested deeper than ``max_json_depth`` is quarantined
    (``NESTING_TOO_DEEP``; Jackson itself stops at 1,000). A zip (GTFS feed) is refused before
    anything is extracted when a member declares more than ``max_zip_member_bytes`` uncompressed,
    all members more than ``max_zip_total_bytes``, or a member above 1 MiB compresses better than
    ``max_zip_ratio`` : 1; members are then read through a cap, so a size that lies is caught too.
    """

    max_record_chars: int = field(default_factory=lambda: int(_env("LAKEHOUSE_MAX_RECORD_CHARS", str(4 * 1024 * 1024))))
    max_fields: int = field(default_factory=lambda: int(_env("LAKEHOUSE_MAX_FIELDS", "1000")))
    max_json_depth: int = field(default_factory=lambda: int(_env("LAKEHOUSE_MAX_JSON_DEPTH", "64")))
    max_zip_member_bytes: int = field(
        default_factory=lambda: int(_env("LAKEHOUSE_MAX_ZIP_MEMBER_BYTES", str(1024 * 1024 * 1024)))
    )
    max_zip_total_bytes: int = field(
        default_factory=lambda: int(_env("LAKEHOUSE_MAX_ZIP_TOTAL_BYTES", str(2 * 1024 * 1024 * 1024)))
    )
    max_zip_ratio: int = field(default_factory=lambda: int(_env("LAKEHOUSE_MAX_ZIP_RATIO", "100")))


class MissingSettingError(RuntimeError):
    """A required setting is absent; the message says how to provide it."""


@dataclass(frozen=True)
class Settings:
    """Where the lakehouse lives and how to reach it."""

    s3_endpoint: str = field(default_factory=lambda: _env("LAKEHOUSE_S3_ENDPOINT", "https://127.0.0.1:9900"))
    s3_access_key: str = field(default_factory=lambda: _env("LAKEHOUSE_S3_ACCESS_KEY", ""))
    s3_secret_key: str = field(default_factory=lambda: _env("LAKEHOUSE_S3_SECRET_KEY", ""))
    s3_region: str = field(default_factory=lambda: _env("LAKEHOUSE_S3_REGION", "us-east-1"))
    s3_path_style: bool = field(default_factory=lambda: _env_bool("LAKEHOUSE_S3_PATH_STYLE", True))
    bucket: str = field(default_factory=lambda: _env("LAKEHOUSE_BUCKET", "lakehouse"))
    s3_retry_limit: int = field(default_factory=lambda: int(_env("LAKEHOUSE_S3_RETRY_LIMIT", "3")))
    """How often S3A and boto3 retry one failed store call before the step sees the failure: rides out
    a blip. A longer outage is ridden out by the step itself (``s3_retry_budget_seconds``)."""
    s3_retry_interval_seconds: float = field(
        default_factory=lambda: float(_env("LAKEHOUSE_S3_RETRY_INTERVAL_SECONDS", "0.5"))
    )
    """S3A's first pause between retries of one call; it doubles at each retry, with jitter (0.5–1.5×):
    3 retries from 0.5 s wait 1 + 2 + 4 = 7 s (up to 10.5 s) before the call fails."""
    s3_retry_budget_seconds: float = field(
        default_factory=lambda: float(_env("LAKEHOUSE_S3_RETRY_BUDGET_SECONDS", "60"))
    )
    """How long a store outage may last before a pipeline step fails: the step waits for the store to
    answer again, then reruns (every step is idempotent); still unreachable this long after a call first
    failed, the step fails with ``StoreUnreachableError`` (``jobs.storage.store_step``)."""
    spark_master: str = field(default_factory=lambda: _env("LAKEHOUSE_SPARK_MASTER", "local[*]"))
    spark_shuffle_partitions: int = field(default_factory=lambda: int(_env("LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS", "4")))
    spark_driver_memory: str = field(default_factory=lambda: _env("LAKEHOUSE_SPARK_DRIVER_MEMORY", "4g"))
    """The driver JVM's heap (local mode: the executor too). 2g keeps a pipeline run's process tree under
    4 GiB (`make bench`'s jobs path: 2.85 / 3.82 / 3.68 GiB at 10⁵ / 10⁶ / 10⁷ readings; 4.38 GiB at 10⁶
    with 4g), but a session that lives long ran out of heap at 2g (a `make test` worker's, 48 min into
    the run, broadcasting a few rows), so the default stays 4g."""
    spark_adaptive: bool = field(default_factory=lambda: _env_bool("LAKEHOUSE_SPARK_ADAPTIVE", True))
    """Spark's adaptive query execution (Spark's default, on). A knob for small machines: on 2 cores with
    4 shuffle partitions, runs with it off were not told apart from run-to-run noise (README, Measured)."""
    spark_interpreted_max_rows: int = field(
        default_factory=lambda: int(_env("LAKEHOUSE_SPARK_INTERPRETED_MAX_ROWS", "20000"))
    )
    """A pipeline step over a batch of at most this many rows runs Spark's interpreted expressions, not
    generated code (``jobs.spark.interpreted_if_small``). Steps at 1,000 rows, one process: the four environment
    datasets 111-117 → 96-103 s cold, 62-73 → 56-60 s warm; the seven transport ones 158 / 160 s cold, 104 → 86 s
    warm. With every step interpreted, 20,000-row readings were as fast warm. 0: always generated code."""
    gate_local_max_rows: int = field(default_factory=lambda: int(_env("LAKEHOUSE_GATE_LOCAL_MAX_ROWS", "100000")))
    """A gate frame of at most this many rows is validated by GX's pandas engine on one Arrow collect,
    not by its Spark engine (Spark jobs per metric: the 5,361-row station list's gate ran 54-55 Spark
    jobs in all, 33-34 since). 0: every frame on Spark. The collect lands on the driver, so keep it a
    small-table bound."""
    spark_java_options: str = field(default_factory=lambda: _env("LAKEHOUSE_SPARK_JAVA_OPTIONS", ""))
    """Extra JVM options of the Spark driver and executors (e.g. ``-XX:+UseParallelGC``); empty: the JVM's own
    defaults. Passed ahead of the store's truststore options."""
    jars_dir: Path = field(default_factory=lambda: Path(_env("LAKEHOUSE_JARS_DIR", str(REPO_ROOT / ".cache" / "jars"))))
    spark_ship_jars: bool = field(default_factory=lambda: _env_bool("LAKEHOUSE_SPARK_SHIP_JARS", False))
    """Ship the jars from the driver to every executor (``spark.jars``: for workers that lack them). Off:
    the driver and executors put them on their class paths in place at ``jars_dir``, which must hold them
    on every node (``make jars`` on this machine or on each worker): shipped, the AWS SDK bundle alone
    (640 MB) is copied into every executor's folder for every application."""
    spark_driver_file: Path | None = field(
        default_factory=lambda: Path(v) if (v := _env("LAKEHOUSE_SPARK_DRIVER_FILE", "")) else None
    )
    """Attach to the long-lived Spark driver whose connection file this is (``lakehouse spark-driver``)
    instead of starting a driver JVM in this process: a task then starts in about a second with a warm
    JIT, not in 10-70 s. Empty (the laptop's default): every process has a driver of its own. The file
    is per host (the driver listens on loopback only) and mode 600: it holds the driver's gateway secret."""
    state_dir: Path = field(default_factory=lambda: Path(_env("LAKEHOUSE_STATE_DIR", str(REPO_ROOT / ".state"))))
    source_root: Path = field(
        default_factory=lambda: Path(_env("LAKEHOUSE_SOURCE_ROOT", str(REPO_ROOT / ".state" / "sources")))
    )
    extract_from: str = field(default_factory=lambda: _env("LAKEHOUSE_EXTRACT_FROM", "channel"))
    """``channel``: each source over its own channel (HTTP, FTP, MQTT …); ``local``: every dataset from
    its local-drop file under ``source_root`` (replays, backfills, the fixture tests)."""
    http_source_url: str = field(default_factory=lambda: _env("LAKEHOUSE_HTTP_SOURCE_URL", "https://127.0.0.1:8780"))
    http_attempts: int = field(default_factory=lambda: int(_env("LAKEHOUSE_HTTP_ATTEMPTS", "5")))
    http_timeout_seconds: float = field(default_factory=lambda: float(_env("LAKEHOUSE_HTTP_TIMEOUT_SECONDS", "30")))
    ftp_host: str = field(default_factory=lambda: _env("LAKEHOUSE_FTP_HOST", "127.0.0.1"))
    ftp_port: int = field(default_factory=lambda: int(_env("LAKEHOUSE_FTP_PORT", "2121")))
    ftp_user: str = field(default_factory=lambda: _env("LAKEHOUSE_FTP_USER", "monitor"))
    ftp_password: str = field(default_factory=lambda: _env("LAKEHOUSE_FTP_PASSWORD", ""))
    mqtt_host: str = field(default_factory=lambda: _env("LAKEHOUSE_MQTT_HOST", "127.0.0.1"))
    mqtt_port: int = field(default_factory=lambda: int(_env("LAKEHOUSE_MQTT_PORT", "1884")))
    mqtt_user: str = field(default_factory=lambda: _env("LAKEHOUSE_MQTT_USER", "lakehouse"))
    mqtt_password: str = field(default_factory=lambda: _env("LAKEHOUSE_MQTT_PASSWORD", ""))
    http_token: str = field(default_factory=lambda: _env("LAKEHOUSE_HTTP_TOKEN", ""))
    # Alert notifications (jobs/notify.py): a channel without an address is skipped.
    smtp_host: str = field(default_factory=lambda: _env("LAKEHOUSE_SMTP_HOST", ""))
    smtp_port: int = field(default_factory=lambda: int(_env("LAKEHOUSE_SMTP_PORT", "25")))
    smtp_starttls: bool = field(default_factory=lambda: _env_bool("LAKEHOUSE_SMTP_STARTTLS", False))
    smtp_user: str = field(default_factory=lambda: _env("LAKEHOUSE_SMTP_USER", ""))
    smtp_password: str = field(default_factory=lambda: _env("LAKEHOUSE_SMTP_PASSWORD", ""))
    smtp_from: str = field(default_factory=lambda: _env("LAKEHOUSE_SMTP_FROM", "lakehouse-alerts@localhost"))
    alert_email_to: str = field(default_factory=lambda: _env("LAKEHOUSE_ALERT_EMAIL_TO", ""))
    alert_webhook_url: str = field(default_factory=lambda: _env("LAKEHOUSE_ALERT_WEBHOOK_URL", ""))
    alert_webhook_token: str = field(default_factory=lambda: _env("LAKEHOUSE_ALERT_WEBHOOK_TOKEN", ""))
    notify_attempts: int = field(default_factory=lambda: int(_env("LAKEHOUSE_NOTIFY_ATTEMPTS", "3")))
    notify_sessions: int = field(default_factory=lambda: int(_env("LAKEHOUSE_NOTIFY_SESSIONS", "4")))
    """At most this many SMTP sessions (webhook connections) per channel for a burst of notices."""
    tls_ca: Path = field(default_factory=lambda: _tls_ca())
    """The CA the source servers' and the store's certificates are checked against (infra/gen_tls.py
    makes a local one)."""
    s3_ca: str = field(default_factory=lambda: _env("LAKEHOUSE_S3_CA", ""))
    """The CA the store's certificate is checked against (an https endpoint): a PEM file, empty for
    ``tls_ca`` (the local CA MinIO's certificate is signed by), or ``system`` for the platform's trust
    (a store with a publicly trusted certificate). Never "no check"."""
    s3_truststore: Path = field(
        default_factory=lambda: Path(_env("LAKEHOUSE_S3_TRUSTSTORE", str(_tls_ca().with_name("truststore.p12"))))
    )
    """The same CA as a Java truststore (PKCS#12, no password) for Spark's S3A client: ``truststore.p12``
    next to ``tls_ca`` by default, written by infra/gen_tls.py (`make tls`)."""
    limits: InputLimits = field(default_factory=InputLimits)
    lease_seconds: float = field(default_factory=lambda: float(_env("LAKEHOUSE_LEASE_SECONDS", "120")))
    """How long a writer's lease on a table (``jobs.lease``) lasts unless renewed; renewed every third of
    it while the writer runs, so this bounds how long a killed writer blocks the table."""
    lease_wait_seconds: float = field(default_factory=lambda: float(_env("LAKEHOUSE_LEASE_WAIT_SECONDS", "900")))
    """How long a writer waits for another's lease before giving up with a message naming the holder."""
    lease_host: str = field(default_factory=lambda: _env("LAKEHOUSE_LEASE_HOST", socket.gethostname()))
    """The name this host's writers put in their leases. A lease of this host whose process is gone is
    taken over at once; give each host (container, pod) a distinct name, which hostnames usually are."""

    def __post_init__(self) -> None:
        if self.lease_seconds <= 0 or self.lease_wait_seconds < 0:
            raise MissingSettingError(
                "LAKEHOUSE_LEASE_SECONDS must be > 0 and LAKEHOUSE_LEASE_WAIT_SECONDS >= 0 (seconds)."
            )
        if self.extract_from not in ("channel", "local"):
            raise MissingSettingError(
                f"LAKEHOUSE_EXTRACT_FROM={self.extract_from!r}: use 'channel' (each source over HTTP/FTP/MQTT) "
                "or 'local' (files under LAKEHOUSE_SOURCE_ROOT)."
            )

    def tls_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts only ``tls_ca`` and checks the server's name."""
        if not self.tls_ca.is_file():
            raise MissingSettingError(
                f"no CA certificate at {self.tls_ca}: run `make sources` (it generates the local CA into "
                ".state/tls) or point LAKEHOUSE_TLS_CA at the CA of your source servers."
            )
        return ssl.create_default_context(cafile=str(self.tls_ca))

    @property
    def staging_dir(self) -> Path:
        """Where extract adapters stage a payload until it is complete (kept between retries to resume);
        one folder per lake bucket, so two lakes never resume each other's transfers."""
        return self.state_dir / "staging" / self.bucket

    @property
    def opendata_bucket(self) -> str:
        """Bucket the open-data publication goes to (public read; the lake bucket stays private)."""
        return _env("LAKEHOUSE_OPENDATA_BUCKET", f"{self.bucket}-opendata")

    @property
    def s3_ssl(self) -> bool:
        return self.s3_endpoint.startswith("https://")

    @property
    def s3_ca_file(self) -> Path | None:
        """The CA file every store client checks the store's certificate against; None for a plain-HTTP
        endpoint or ``LAKEHOUSE_S3_CA=system`` (the platform's trust). Raises with the fix when missing."""
        if not self.s3_ssl or self.s3_ca.lower() == "system":
            return None
        path = Path(self.s3_ca) if self.s3_ca else self.tls_ca
        if not path.is_file():
            raise MissingSettingError(
                f"no CA certificate at {path} to check the store's certificate against: run `make tls` (it "
                "generates the local CA MinIO's certificate is signed by into .state/tls), or point "
                "LAKEHOUSE_S3_CA at your store's CA (`system` for a publicly trusted one)."
            )
        return path

    @property
    def s3_verify(self) -> str | bool:
        """boto3's ``verify``: the store's CA file, or True (the platform's trust); never False."""
        ca = self.s3_ca_file
        return str(ca) if ca is not None else True

    def s3_jvm_trust_options(self) -> dict[str, str]:
        """JVM system properties that make Spark's S3A client (AWS SDK, JSSE) trust the store's CA:
        the truststore of ``s3_truststore``; none for a plain-HTTP or a publicly trusted store."""
        ca_file = self.s3_ca_file
        if ca_file is None:
            return {}
        if not self.s3_truststore.is_file():
            raise MissingSettingError(
                f"no Java truststore at {self.s3_truststore} for Spark to check the store's certificate: run "
                "`make tls` (infra/gen_tls.py writes it next to the local CA), or point LAKEHOUSE_S3_TRUSTSTORE "
                "at a PKCS#12 truststore holding your store's CA."
            )
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import pkcs12

        ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
        held = [c.certificate for c in pkcs12.load_pkcs12(self.s3_truststore.read_bytes(), None).additional_certs]
        if ca not in held:
            raise MissingSettingError(
                f"the Java truststore {self.s3_truststore} does not hold the store's CA ({ca_file}): run "
                "`make tls` to rewrite it, or set LAKEHOUSE_S3_TRUSTSTORE to a truststore holding that CA."
            )
        return {"javax.net.ssl.trustStore": str(self.s3_truststore), "javax.net.ssl.trustStoreType": "PKCS12"}

    def trust_store_ca_in_rustls(self) -> None:
        """Make delta-rs (and DuckDB reading through it) check the store against its CA.

        delta-rs 1.6 (object_store 0.13, rustls) has no storage option for a CA (delta-io/delta-rs#4246);
        its verifier loads its roots from ``SSL_CERT_FILE`` when it builds a client. So this process's
        ``SSL_CERT_FILE`` is set to the store's CA: every later rustls or OpenSSL-default client in it
        trusts only that CA, as the pipeline's clients should. Nothing changes for a publicly trusted store.
        """
        ca = self.s3_ca_file
        if ca is not None:
            os.environ["SSL_CERT_FILE"] = str(ca)

    @property
    def gx_root(self) -> Path:
        """Great Expectations project (suites, results, Data Docs) for this deployment."""
        return Path(_env("LAKEHOUSE_GX_ROOT", str(self.state_dir / "gx")))

    def require_credentials(self) -> None:
        """Fail early, with the fix, when no S3 credentials are configured."""
        if not self.s3_access_key or not self.s3_secret_key:
            raise MissingSettingError(
                "LAKEHOUSE_S3_ACCESS_KEY / LAKEHOUSE_S3_SECRET_KEY are not set. Run `make store` (it "
                "generates .state/secrets.env and starts the local store), then `set -a; . "
                ".state/secrets.env; set +a`, or export the keys of your own S3-compatible store."
            )

    def s3a_uri(self, key: str) -> str:
        """Hadoop S3A URI (what Spark reads and writes) of an object key in the lake bucket."""
        return f"s3a://{self.bucket}/{key.lstrip('/')}"

    def s3_uri(self, key: str) -> str:
        """Plain s3:// URI (what delta-rs and other S3 clients use) of the same key."""
        return f"s3://{self.bucket}/{key.lstrip('/')}"

    def delta_rs_storage_options(self) -> dict[str, str]:
        """Options for delta-rs (`deltalake`) to open tables on this store (its CA: see
        :meth:`trust_store_ca_in_rustls`, done here)."""
        self.require_credentials()
        self.trust_store_ca_in_rustls()
        return {
            "AWS_ENDPOINT_URL": self.s3_endpoint,
            "AWS_ACCESS_KEY_ID": self.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": self.s3_secret_key,
            "AWS_REGION": self.s3_region,
            "AWS_ALLOW_HTTP": "false" if self.s3_ssl else "true",
            "AWS_S3_ADDRESSING_STYLE": "path" if self.s3_path_style else "virtual",
            # Commits by conditional PUT (If-None-Match), which MinIO and S3 honour: concurrent
            # delta-rs writers cannot overwrite each other's commit, with no lock table needed.
            "AWS_CONDITIONAL_PUT": "etag",
        }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()
