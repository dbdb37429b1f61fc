"""The one SparkSession builder of the project.

Every job and test gets its session here, so Delta, S3A and laptop tuning are configured in one
place. Jars come from the Maven-resolved cache (``make jars``) as explicit paths: no session
resolves anything from the network. The master URL comes from settings, so the same job runs on
``local[*]`` or on a cluster.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.settings import Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

# Spark evaluates expressions by interpreting them, not by generating, compiling and JIT-compiling Java
# classes per plan (whole-stage code generation and the generated projections and predicates).
INTERPRETED_EXECUTION = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


class MissingJarsError(RuntimeError):
    """The JVM jars were not fetched; the message says how."""


def _artifact_name(jar: Path) -> str:
    """`parquet-column-1.16.0.jar` -> `parquet-column` (drop the version)."""
    parts = jar.stem.split("-")
    while parts and parts[-1][:1].isdigit():
        parts.pop()
    return "-".join(parts)


def runtime_jars(settings: Settings) -> list[str]:
    """Cached jars that Spark does not already ship (pyspark's own versions win)."""
    import pyspark

    jars = sorted(settings.jars_dir.glob("*.jar"))
    if not any(j.name.startswith("delta-spark_") for j in jars) or not any(
        j.name.startswith("hadoop-aws-") for j in jars
    ):
        raise MissingJarsError(
            f"No Delta / hadoop-aws jars in {settings.jars_dir}. Run `make jars` (Maven fetches them "
            "once from infra/spark/pom.xml) or set LAKEHOUSE_JARS_DIR to a directory that has them."
        )
    bundled = {_artifact_name(j) for j in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    return [str(j) for j in jars if _artifact_name(j) not in bundled]


SECRET_S3A_OPTIONS = frozenset({"fs.s3a.access.key", "fs.s3a.secret.key"})
"""S3A options never passed to the Spark builder (they would land on the JVM's command line)."""


def s3a_options(settings: Settings) -> dict[str, str]:
    """Hadoop S3A options for the configured store (plain S3: endpoint, keys, region, path style; TLS
    for an https endpoint, checked against the JVM's truststore: see ``get_spark``)."""
    settings.require_credentials()
    options = {
        "endpoint": settings.s3_endpoint,
        "endpoint.region": settings.s3_region,
        "path.style.access": str(settings.s3_path_style).lower(),
        "connection.ssl.enabled": str(settings.s3_ssl).lower(),
        "aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "access.key": settings.s3_access_key,
        "secret.key": settings.s3_secret_key,
        "impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fast.upload": "true",
        "change.detection.mode": "none",
        # A blip is ridden out per call: S3A retries `retry.limit` times, the pause doubling from
        # `retry.interval` (with jitter), and the AWS SDK makes `attempts.maximum` quick attempts in
        # each. A longer outage fails the call; the pipeline step then waits for the store and reruns
        # (`jobs.storage.store_step`, up to LAKEHOUSE_S3_RETRY_BUDGET_SECONDS).
        "retry.limit": str(settings.s3_retry_limit),
        "retry.interval": f"{int(settings.s3_retry_interval_seconds * 1000)}ms",
        "attempts.maximum": "3",
    }
    return {f"fs.s3a.{k}": v for k, v in options.items()}


def get_spark(app_name: str = "lakehouse", *, with_s3: bool = True, settings: Settings | None = None) -> SparkSession:
    """Return the process's SparkSession, creating it once with Delta (and S3A) configured.

    With ``LAKEHOUSE_SPARK_DRIVER_FILE`` set, the session is a new session of the long-lived shared driver
    (:func:`attach_shared_driver`), configured the same way by this function when that driver started.
    ``with_s3=False`` is for unit tests of pure transforms that need no store: always a driver of its own.
    """
    settings = settings or get_settings()
    if with_s3 and settings.spark_driver_file is not None:
        return attach_shared_driver(settings.spark_driver_file)
    return _start_driver(app_name, with_s3=with_s3, settings=settings)


def _start_driver(app_name: str, *, with_s3: bool, settings: Settings) -> SparkSession:
    """A driver JVM of this process's own (spark-submit through pyspark's gateway), or its existing session."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    jars = runtime_jars(settings)
    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings.spark_master)
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.sql.adaptive.enabled", str(settings.spark_adaptive).lower())
        .config("spark.default.parallelism", str(settings.spark_shuffle_partitions))
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.databricks.delta.schema.autoMerge.enabled", "false")
        .config("spark.databricks.delta.merge.repartitionBeforeWrite.enabled", "true")
        .config("spark.sql.sources.partitionOverwriteMode", "static")
        # Laptop-sized Delta: the default 50 snapshot partitions cost seconds per table read.
        .config("spark.databricks.delta.snapshotPartitions", str(settings.spark_shuffle_partitions))
        .config("spark.databricks.delta.stateReconstructionValidation.enabled", "false")
        # VACUUM lists a table's files in this many Spark tasks (default 10,000: 40-60 s for a table
        # of a few files on 2 cores, most of an erasure's time); the shuffle width scales it with the cluster.
        .config("spark.sql.sources.parallelPartitionDiscovery.parallelism", str(settings.spark_shuffle_partitions))
        # Generated code is cached by its text: Spark's default of 100 classes is fewer than one pipeline
        # step makes, so the next step (or dataset) compiled the same classes again. With 1,000 the six
        # transport steps compile 865-877 classes instead of 1,864-1,989 (7-14 ms of driver CPU each, then JIT).
        .config("spark.sql.codegen.cache.maxEntries", "1000")
    )
    if settings.spark_ship_jars:  # copied from the driver into every executor's folder
        builder = builder.config("spark.jars", ",".join(jars))
    else:  # read in place: on the JVMs' class paths (a `local:` jar would still be copied per executor)
        builder = builder.config("spark.driver.extraClassPath", ":".join(jars))
        builder = builder.config("spark.executor.extraClassPath", ":".join(jars))
    s3a = s3a_options(settings) if with_s3 else {}
    # S3A (AWS SDK v2, JSSE) has no CA option of its own: it trusts what the JVM trusts, so an https
    # store's CA comes as the JVM's truststore (a file path and its type: no password exists, none is
    # passed). On the driver's and the executors' command lines, for the JVMs started from here.
    trust = settings.s3_jvm_trust_options() if with_s3 else {}
    trust_options = [f"'-D{key}={value}'" for key, value in trust.items()]  # Spark unquotes them
    java_options = " ".join(o for o in (settings.spark_java_options.strip(), *trust_options) if o)
    if java_options:
        builder = builder.config("spark.driver.extraJavaOptions", java_options)
        builder = builder.config("spark.executor.extraJavaOptions", java_options)
    # Builder confs reach the JVM as `--conf k=v` on spark-submit's command line, which every local
    # user can read in /proc/*/cmdline: the keys go only into the running session's Hadoop
    # configuration below (Delta and S3A read it from there; executors get it with each job).
    for key, value in s3a.items():
        if key not in SECRET_S3A_OPTIONS:
            builder = builder.config(f"spark.hadoop.{key}", value)
    spark = builder.getOrCreate()
    # A session made earlier in this process without S3 keeps its Hadoop configuration: set it here too.
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
    for key, value in s3a.items():
        hadoop_conf.set(key, value)
    # Such a session's JVM also started without the truststore: set it before S3A opens its first
    # connection (JSSE reads these properties when the AWS SDK builds its TLS context).
    if trust:
        system = spark.sparkContext._jvm.java.lang.System  # type: ignore[union-attr]
        for key, value in trust.items():
            if system.getProperty(key) != value:
                system.setProperty(key, value)
    spark.sparkContext.setLogLevel("WARN")
    return spark


CLIENT_TAG_PREFIX = "lakehouse-client-"
"""The Spark job tag of an attached process's jobs: this prefix and its pid."""


class SharedDriverError(RuntimeError):
    """The shared driver that ``LAKEHOUSE_SPARK_DRIVER_FILE`` names cannot be reached; the message says what to do."""


def _clients_dir(driver_file: Path) -> Path:
    """Where attached processes register (one empty file per pid), beside the driver's connection file."""
    return driver_file.with_name(f"{driver_file.name}.clients")


def attach_shared_driver(driver_file: Path) -> SparkSession:
    """A new session of the long-lived driver that ``lakehouse spark-driver`` keeps (:func:`serve_shared_driver`).

    The session has SQL settings of its own (``interpreted_if_small`` in one task does not reach another);
    the executors, the Delta log cache and the JIT's compiled code are shared, which is the point: no JVM
    start, no executor registration, no cold compilation per task. The process registers its pid with the
    driver and tags its jobs with it, so that the driver cancels what a process that dies mid-call left
    running (a killed Airflow task must not go on writing). Jobs started from other Python threads of the
    process carry the tag only if the thread is a ``pyspark.InheritableThread``.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    active = SparkSession._instantiatedSession
    if active is not None and active._sc._jsc is not None:
        return active
    how = (
        f"start it with `lakehouse spark-driver --file {driver_file}` (`make cluster-up` starts one), or unset "
        "LAKEHOUSE_SPARK_DRIVER_FILE to give this process a driver of its own"
    )
    try:
        info = json.loads(driver_file.read_text(encoding="utf-8"))
        port, secret = int(info["port"]), str(info["secret"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SharedDriverError(f"no shared Spark driver's connection file at {driver_file} ({err}): {how}") from err
    # pyspark connects to a running JVM when these are set; they are removed at once so that no child
    # process of this one inherits the gateway's secret.
    os.environ["PYSPARK_GATEWAY_PORT"], os.environ["PYSPARK_GATEWAY_SECRET"] = str(port), secret
    try:
        gateway = launch_gateway()
        jvm = gateway.jvm
        jsc = jvm.JavaSparkContext(jvm.org.apache.spark.SparkContext.getOrCreate())
    except Exception as err:  # py4j's connection errors have no common public base
        raise SharedDriverError(
            f"the shared Spark driver of {driver_file} (pid {info.get('pid')}) does not answer on 127.0.0.1:{port} "
            f"({type(err).__name__}): {how}"
        ) from err
    finally:
        del os.environ["PYSPARK_GATEWAY_PORT"], os.environ["PYSPARK_GATEWAY_SECRET"]
    clients = _clients_dir(driver_file)
    clients.mkdir(exist_ok=True)
    (clients / str(os.getpid())).touch()
    sc = SparkContext(gateway=gateway, jsc=jsc, conf=SparkConf(_jconf=jsc.getConf()))
    sc.addJobTag(f"{CLIENT_TAG_PREFIX}{os.getpid()}")
    default = jvm.org.apache.spark.sql.classic.SparkSession.getDefaultSession().get()
    spark = SparkSession(sc, jsparkSession=default.newSession())
    log.info("attached to the shared Spark driver %s (%s)", sc.applicationId, sc.master)
    return spark


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def serve_shared_driver(
    driver_file: Path,
    stop: threading.Event,
    *,
    settings: Settings | None = None,
    poll_seconds: float = 1.0,
    cancel_for_seconds: float = 60.0,
) -> None:
    """Start a driver (the same builder as every job's), publish its connection in ``driver_file`` (mode 600)
    and keep it until ``stop`` is set; processes with ``LAKEHOUSE_SPARK_DRIVER_FILE`` attach to it.

    Every ``poll_seconds`` the attached processes are checked: the jobs of one that is gone are cancelled,
    and again each poll for ``cancel_for_seconds`` (a command such as a MERGE starts several jobs in turn).
    """
    settings = settings or get_settings()
    spark = _start_driver("lakehouse-shared-driver", with_s3=True, settings=settings)
    sc = spark.sparkContext
    params = sc._gateway.gateway_parameters  # type: ignore[union-attr]
    info = {"port": params.port, "secret": params.auth_token, "pid": os.getpid(), "application_id": sc.applicationId}
    clients = _clients_dir(driver_file)
    clients.mkdir(parents=True, exist_ok=True)
    for stale in clients.iterdir():  # a previous driver's clients: their jobs died with it
        stale.unlink(missing_ok=True)
    partial = driver_file.with_name(f".{driver_file.name}.partial")
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
        json.dump(info, out)
    partial.replace(driver_file)
    log.info("shared Spark driver %s (%s) serving through %s", sc.applicationId, sc.master, driver_file)
    gone: dict[int, float] = {}
    try:
        while not stop.wait(poll_seconds):
            now = time.monotonic()
            for entry in clients.iterdir():
                if not entry.name.isdigit():
                    continue
                if _process_alive(int(entry.name)):  # also a new process that got an ended one's pid
                    gone.pop(int(entry.name), None)
                    continue
                gone[int(entry.name)] = now
                entry.unlink(missing_ok=True)
                log.info("attached process %s has ended: any Spark job it left running is cancelled", entry.name)
            for pid, since in list(gone.items()):
                sc.cancelJobsWithTag(f"{CLIENT_TAG_PREFIX}{pid}")
                if now - since > cancel_for_seconds:
                    del gone[pid]
    finally:
        driver_file.unlink(missing_ok=True)
        spark.stop()


@contextmanager
def interpreted_if_small(spark: SparkSession, rows: int, settings: Settings | None = None) -> Iterator[bool]:
    """Run the block with Spark's interpreted expressions when ``rows`` (the step's batch) is at most
    ``spark_interpreted_max_rows``; yields whether it did, and restores the session's settings after.

    Generated code costs per new plan: Spark writes the Java source, Janino compiles it and the JVM's JIT
    compiles it again, in every step (a step's plans differ from the last one's). A batch of a few thousand
    rows never earns that back; a large one does, so it keeps generated code. Both evaluate the same
    expressions to the same values (``tests/integration/test_interpreted_execution.py``).
    """
    limit = (settings or get_settings()).spark_interpreted_max_rows
    if limit <= 0 or rows > limit:
        yield False
        return
    before = {key: spark.conf.get(key) for key in INTERPRETED_EXECUTION}
    for key, value in INTERPRETED_EXECUTION.items():
        spark.conf.set(key, value)
    log.info("%s rows: Spark's interpreted expressions", rows)
    try:
        yield True
    finally:
        for key, previous in before.items():
            if previous is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, previous)


def local_frame(spark: SparkSession, rows: Iterable[Sequence[Any] | Mapping[str, Any]], ddl: str) -> DataFrame:
    """A small constant table (limits, a list of days) as a DataFrame held in the plan, built from Arrow.

    ``spark.createDataFrame(list_of_rows)`` makes a Python RDD: every job that scans it starts Python
    workers to unpickle it (0.4-1.4 s a scan in the live alert rebuild, measured), and nothing caches
    it. ``rows``: tuples in the order of ``ddl``'s columns, or mappings by column name."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import StructType, _parse_datatype_string

    schema = _parse_datatype_string(ddl)
    assert isinstance(schema, StructType), f"not a table schema: {ddl}"
    names = schema.names
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for row in rows:
        values = [row[name] for name in names] if isinstance(row, Mapping) else list(row)
        for name, value in zip(names, values, strict=True):
            columns[name].append(value)
    arrow = to_arrow_schema(schema)
    table = pa.table({name: pa.array(columns[name], arrow.field(name).type) for name in names}, schema=arrow)
    return spark.createDataFrame(table, schema=schema)
