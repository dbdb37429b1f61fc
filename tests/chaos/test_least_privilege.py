"""Least privilege (issue 13, scenario 9) and channels encrypted and authenticated (scenario 10).

Every attempt an identity should not be able to make is made for real, against the real store
(MinIO), the real broker (mosquitto over TLS, infra/mqtt/mqtt.sh), the real HTTPS API and FTPS
drop, and Spark: each must be refused by the component itself (AccessDenied, 401, PUBACK/SUBACK
"Not authorized", a refused TLS-less connection), while the legitimate identity doing the same
thing succeeds (so a refusal is not just a missing object). Rows: records in = attempts (plus the
legitimate messages, for the broker), silver = legitimate operations that worked, quarantined =
attempts refused; lost = attempts that got through or legitimate messages that did not arrive.
"""

from __future__ import annotations

import dataclasses
import ftplib
import json
import os
import secrets
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import certifi
import httpx
import pyarrow as pa
import pytest
from botocore.exceptions import ClientError

from jobs.settings import Settings
from tests.chaos.scenario import ScenarioRow, sized
from tests.lakehouse_fixtures import lake_bucket, ministry_identities

REPO = Path(__file__).resolve().parents[2]
MQTT_SH = REPO / "infra" / "mqtt" / "mqtt.sh"
REAL = Settings()  # the deployment's buckets, read before lake_bucket points settings at a test bucket
INTERNAL = "silver/environment/wastewater_reading"  # INTERNAL to mae (registry); moc has no grant
PUBLIC = "gold/environment/aqi_daily"
BROKER_PORTS = (19172, 19173)  # this scenario's range (lander listener, device listener)


@dataclass
class Lake:
    writer: Settings
    ministries: dict[str, Settings]
    internal: dict[str, bytes]  # objects under mae's INTERNAL table, as written


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    from deltalake import write_deltalake

    from jobs.settings import get_settings
    from jobs.storage import s3_client

    tmp = tmp_path_factory.mktemp("least_privilege")
    with lake_bucket("leastpriv", tmp / "sources", tmp / "gx") as bucket:
        writer = get_settings()
        client = s3_client(writer)
        internal = {f"{INTERNAL}/part-{i:05d}.parquet": secrets.token_bytes(64) for i in range(sized(3, 30))}
        for key, body in internal.items():
            client.put_object(Bucket=bucket, Key=key, Body=body)
        options = {**writer.delta_rs_storage_options(), "conditional_put": "etag"}
        write_deltalake(
            writer.s3_uri(PUBLIC),
            pa.table({"station_id": ["HN01", "DN02"], "vn_aqi": [57, 121]}),
            storage_options=options,
        )
        with ministry_identities(bucket) as ministries:
            yield Lake(writer, ministries, internal)


def _denied(call: Callable[[], Any]) -> bool:
    """True when the store refused the call with AccessDenied (any other outcome is False)."""
    try:
        call()
    except ClientError as err:
        return str(err.response["Error"]["Code"]) == "AccessDenied"
    return False


def test_store_least_privilege(lake: Lake, chaos_row: ScenarioRow) -> None:
    """Ministry moc on mae's INTERNAL table, the pipeline writer on the admin API, anonymous reads
    outside open data: each refused by MinIO; mae itself and anonymous open data work."""
    from minio.error import MinioAdminException

    from infra.store.bootstrap import admin_client
    from jobs.storage import s3_client

    moc, mae, writer = s3_client(lake.ministries["moc"]), s3_client(lake.ministries["mae"]), lake.writer
    bucket = writer.bucket
    attempts = refused = legit = 0

    # 1. ministry A (moc) on B's (mae) internal data: every object, the listing, a write.
    for key, body in lake.internal.items():
        attempts += 1
        refused += _denied(lambda k=key: moc.get_object(Bucket=bucket, Key=k))
        legit += mae.get_object(Bucket=bucket, Key=key)["Body"].read() == body  # the owner reads it
    attempts += 2
    refused += _denied(lambda: moc.list_objects_v2(Bucket=bucket, Prefix=f"{INTERNAL}/"))
    refused += _denied(lambda: moc.put_object(Bucket=bucket, Key=f"{INTERNAL}/forged.parquet", Body=b"x"))

    # 2. the pipeline writer on the store's admin API (users, policies, server info).
    as_writer = admin_client(writer, writer.s3_access_key, writer.s3_secret_key)
    forged_users = [f"chaos-{uuid.uuid4().hex[:8]}" for _ in range(sized(2, 10))]
    admin_calls: list[Callable[[], Any]] = [as_writer.user_list, as_writer.policy_list, as_writer.info]
    admin_calls += [lambda u=u: as_writer.user_add(u, secrets.token_urlsafe(24)) for u in forged_users]
    admin_calls.append(lambda: as_writer.policy_set("readwrite", user=writer.s3_access_key))
    for call in admin_calls:
        attempts += 1
        try:
            call()
        except MinioAdminException as err:
            refused += err._code == "403" and "AccessDenied" in err._body
    root = admin_client(writer, os.environ["MINIO_ROOT_USER"], os.environ["MINIO_ROOT_PASSWORD"])
    users = json.loads(root.user_list())
    assert not any(u in users for u in forged_users), "the writer created a user"

    # 3. anonymous (unsigned) reads outside the open-data bucket; open data itself is public.
    keys = [*list(lake.internal)[: sized(3, 30)], f"{PUBLIC}/_delta_log/00000000000000000000.json"]
    open_key = f"_chaos/least_privilege/{uuid.uuid4().hex}.txt"
    s3_client(writer).put_object(Bucket=REAL.opendata_bucket, Key=open_key, Body=b"open")
    try:
        store_tls = ssl.create_default_context(cafile=writer.s3_ca_file)  # the store over TLS, checked
        with httpx.Client(base_url=writer.s3_endpoint, verify=store_tls) as anon:
            for url in [f"/{bucket}/{k}" for k in keys] + [f"/{bucket}?list-type=2", f"/{REAL.bucket}?list-type=2"]:
                attempts += 1
                r = anon.get(url)
                refused += r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text
            public = anon.get(f"/{REAL.opendata_bucket}/{open_key}")
            legit += public.status_code == 200 and public.content == b"open"
    finally:
        s3_client(writer).delete_object(Bucket=REAL.opendata_bucket, Key=open_key)

    chaos_row.count(records_in=attempts, silver=0, quarantined=refused)
    chaos_row.detail = (
        f"{refused}/{attempts} refused with AccessDenied (moc on mae's INTERNAL, writer on admin API, anonymous); "
        f"{legit} legitimate reads worked"
    )
    assert refused == attempts
    assert legit == len(lake.internal) + 1
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0


def test_spark_engine_refuses_java_calls_before_they_run(lake: Lake, chaos_row: ScenarioRow) -> None:
    """``reflect`` / ``java_method`` / ``try_reflect`` through ``--engine spark``: refused before
    running, shown by a JVM system property the call would have set staying unset."""
    from jobs.errors import UserFacingError
    from jobs.query import run_query
    from jobs.spark import get_spark

    attempts = refused = 0
    marker = f"lakehouse.chaos.{uuid.uuid4().hex}"
    calls = [
        f"reflect('java.lang.System', 'setProperty', '{marker}', 'reflect')",
        f"java_method('java.lang.System', 'setProperty', '{marker}', 'java_method')",
        f"try_reflect('java.lang.System', 'setProperty', '{marker}', 'try_reflect')",
        f"ReFlEcT ('java.lang.System', 'setProperty', '{marker}', 'mixed case')",
    ][: sized(4, 4)]
    for call in calls:
        for sql in (
            f"SELECT station_id, {call} AS x FROM gold.environment_aqi_daily",
            f"WITH t AS (SELECT {call} AS x FROM gold.environment_aqi_daily) SELECT * FROM t",
        ):
            attempts += 1
            try:
                run_query(sql, settings=lake.writer, engine="spark")
            except UserFacingError as err:
                refused += "refused before it ran" in str(err)
    jvm = get_spark("lakehouse-query", settings=lake.writer)._jvm
    assert jvm is not None
    assert jvm.java.lang.System.getProperty(marker) is None  # none of the calls ran
    allowed = run_query("SELECT count(*) AS n FROM gold.environment_aqi_daily", settings=lake.writer, engine="spark")
    chaos_row.count(records_in=attempts, silver=0, quarantined=refused)
    chaos_row.detail = f"{refused}/{attempts} Java-calling queries refused before running; plain query returned"
    assert refused == attempts
    assert allowed.column("n").to_pylist() == [2]
    assert chaos_row.lost == 0


# ---------------------------------------------------------------------------------------------
# The broker: devices, the publisher and the lander, each with its own login and ACL, over TLS
# ---------------------------------------------------------------------------------------------


@dataclass
class Broker:
    env: dict[str, str]
    lander_port: int
    device_port: int
    devices: dict[str, str]  # device id → password (generated by mqtt.sh)
    ca: Path

    def lander_settings(self, base: Settings) -> Settings:
        return dataclasses.replace(
            base,
            mqtt_port=self.lander_port,
            mqtt_user=self.env["LAKEHOUSE_MQTT_USER"],
            mqtt_password=self.env["LAKEHOUSE_MQTT_PASSWORD"],
            tls_ca=self.ca,
        )


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    assert all(_port_free(p) for p in BROKER_PORTS), f"ports {BROKER_PORTS} are taken"
    directory = tmp_path_factory.mktemp("mqtt")
    devices = ["AQ-CHAOS-1", "AQ-CHAOS-2"]
    env = {
        **os.environ,
        "LAKEHOUSE_MQTT_DIR": str(directory),
        "LAKEHOUSE_MQTT_PORT": str(BROKER_PORTS[0]),
        "LAKEHOUSE_MQTT_DEVICE_PORT": str(BROKER_PORTS[1]),
        "LAKEHOUSE_MQTT_USER": "lakehouse",
        "LAKEHOUSE_MQTT_PASSWORD": secrets.token_urlsafe(16),
        "LAKEHOUSE_MQTT_PUBLISHER_PASSWORD": secrets.token_urlsafe(16),
        "LAKEHOUSE_MQTT_DEVICES": " ".join(devices),
    }
    subprocess.run([str(MQTT_SH), "start"], env=env, check=True, capture_output=True, text=True)
    try:
        lines = (directory / "devices.env").read_text().splitlines()
        passwords = dict(line.split("=", 1) for line in lines if "=" in line)
        assert sorted(passwords) == devices
        yield Broker(env, BROKER_PORTS[0], BROKER_PORTS[1], passwords, Settings().tls_ca)
    finally:
        subprocess.run([str(MQTT_SH), "stop"], env=env, check=True, capture_output=True, text=True)


class Device:
    """An MQTT v5 client over TLS with one login; records CONNACK, PUBACK and SUBACK reason codes."""

    def __init__(
        self, broker: Broker, user: str, password: str, port: int, client_id: str = "", tls: bool = True
    ) -> None:
        from paho.mqtt.client import CallbackAPIVersion, Client, MQTTv5

        self.client = Client(CallbackAPIVersion.VERSION2, client_id=client_id or user, protocol=MQTTv5)
        self.client.username_pw_set(user, password)
        if tls:
            self.client.tls_set_context(ssl.create_default_context(cafile=str(broker.ca)))
        self.events: dict[Any, Any] = {}
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.events.setdefault("connack", rc)
        self.client.on_publish = lambda _c, _u, mid, rc, _p: self.events.setdefault(mid, rc)
        self.client.on_subscribe = lambda _c, _u, mid, rcs, _p: self.events.setdefault(("sub", mid), rcs)
        self.port = port

    def connect(self, timeout: float = 5.0) -> Any:
        """The CONNACK reason code, or None when the broker never answered (no TLS, say)."""
        try:
            self.client.connect("127.0.0.1", self.port, keepalive=30)
        except OSError:
            return None
        return self._wait("connack", timeout)

    def _wait(self, key: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while key not in self.events and time.monotonic() < deadline:
            if self.client.loop(0.05) != 0:
                break
        return self.events.get(key)

    def publish(self, topic: str, payload: bytes, message_id: str) -> Any:
        """The PUBACK reason code of a QoS-1 publish carrying the lander's envelope."""
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("message_id", message_id), ("sent_at", "2026-11-26T08:00:00+07:00")]
        info = self.client.publish(topic, payload, qos=1, properties=props)
        return self._wait(info.mid, 5.0)

    def subscribe(self, topic: str) -> Any:
        from paho.mqtt.subscribeoptions import SubscribeOptions

        _rc, mid = self.client.subscribe(topic, options=SubscribeOptions(qos=1))
        codes = self._wait(("sub", mid), 5.0)
        return codes[0] if codes else None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop(0.1)


def test_broker_least_privilege_and_tls(lake: Lake, broker: Broker, chaos_row: ScenarioRow) -> None:
    """A device publishes its own readings (all reach the lander once); every forgery, eavesdrop,
    client-id takeover and TLS-less connection by it is refused by mosquitto."""
    from jobs.extract.mqtt import client_id, drain, register, spool_prefix, spooled
    from jobs.registry import REGISTRY
    from jobs.storage import list_keys

    base = REGISTRY["air_quality_reading"]
    assert base.source is not None
    tag = uuid.uuid4().hex[:6]
    topic = f"chaos/lp{tag}/air_quality"
    ds = dataclasses.replace(
        base,
        name=f"air_quality_reading_lp{tag}",
        source=dataclasses.replace(base.source, options={**base.source.options, "topic": topic}),
    )
    settings = broker.lander_settings(lake.writer)
    assert register(ds, settings) is True
    me, other = "AQ-CHAOS-1", "AQ-CHAOS-2"
    n = sized(50, 5000)
    attempts = refused = 0

    device = Device(broker, me, broker.devices[me], broker.device_port)
    assert device.connect().value == 0
    legit_ids = [f"{me}:{i}" for i in range(n)]
    acks = [device.publish(f"{topic}/{me}", json.dumps({"i": i}).encode(), mid) for i, mid in enumerate(legit_ids)]
    assert all(rc is not None and not rc.is_failure for rc in acks), {str(rc) for rc in acks}
    device.close()  # the broker forces client id = user name: a second connection would take this one over

    def refused_publish(target: str, payload: bytes) -> bool:
        d = Device(broker, me, broker.devices[me], broker.device_port)
        assert d.connect().value == 0
        rc = d.publish(target, payload, f"forged:{uuid.uuid4().hex}")
        d.close()
        return rc is not None and rc.getName() == "Not authorized"

    forged = sized(5, 50)
    for i in range(forged):  # on another device's topic
        attempts += 1
        refused += refused_publish(f"{topic}/{other}", json.dumps({"forged": i}).encode())
    attempts += 2  # a forged manifest for the day, and one on a manifest of its own making
    refused += refused_publish(f"{topic}/_manifest/2026-11-26", b'{"interval_date": "2026-11-26", "rows": 0}')
    refused += refused_publish(f"{topic}/_lander/{uuid.uuid4().hex}", b"")

    for sub in (f"{topic}/#", "#", f"{topic}/{other}"):  # eavesdrop on the lander's topics
        attempts += 1
        d = Device(broker, me, broker.devices[me], broker.device_port)
        assert d.connect().value == 0
        code = d.subscribe(sub)
        d.close()
        refused += code is not None and code.getName() == "Not authorized"

    # The lander's listener does not know the device; the device listener forces client id = user
    # name, so the lander's client id gives it nothing (the lander's session is intact below).
    attempts += 1
    on_lander_port = Device(broker, me, broker.devices[me], broker.lander_port)
    rc = on_lander_port.connect()
    refused += rc is not None and rc.getName() in ("Not authorized", "Bad user name or password")
    attempts += 1  # the lander's client id, clean start: would wipe the lander's queue if honoured
    thief = Device(broker, me, broker.devices[me], broker.device_port, client_id=client_id(ds))
    assert thief.connect().value == 0
    thief.close()
    for port in (broker.lander_port, broker.device_port):  # no TLS: no MQTT at all
        attempts += 1
        plain = Device(broker, "publisher", broker.env["LAKEHOUSE_MQTT_PUBLISHER_PASSWORD"], port, tls=False)
        refused += plain.connect(timeout=3.0) is None

    refused += register(ds, settings) is False  # the lander's durable session survived the thief
    result = drain(ds, settings)
    records = list(spooled(ds, [date(2026, 11, 26)], settings))
    data = [r for r in records if "manifest" not in r]
    ids = [r["message_id"] for r in data]
    delivered = len(set(ids) & set(legit_ids))
    chaos_row.count(records_in=n + attempts, silver=delivered, quarantined=refused, duplicated=len(ids) - len(set(ids)))
    chaos_row.detail = (
        f"{n} own readings landed once; {refused}/{attempts} device attempts refused (PUBACK/SUBACK/CONNACK "
        "Not authorized, no TLS → no session)"
    )
    assert result.messages == n and sorted(ids) == sorted(legit_ids)
    assert not [r for r in records if "manifest" in r]  # no forged manifest reached the lander
    assert {r["topic"] for r in data} == {f"{topic}/{me}"}
    assert refused == attempts
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0
    assert list_keys(spool_prefix(ds), settings)  # the spool is in the store


# ---------------------------------------------------------------------------------------------
# The HTTP API and the FTP drop: HTTPS + bearer token, explicit FTPS
# ---------------------------------------------------------------------------------------------


def test_http_and_ftp_channels_are_encrypted_and_authenticated(tmp_path: Path, chaos_row: ScenarioRow) -> None:
    """Each file is fetched once the right way (HTTPS checked against the local CA with the token;
    FTPS with PROT P) and refused every wrong way (plain HTTP, no or a wrong token, a client that
    does not trust the CA; plain FTP, FTPS without PROT P)."""
    from sample_sources.env import SourceEnv
    from sample_sources.servers import ftp_server, http_api

    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    files = {f"d/f{i:04d}.csv": f"station_id,value\nAQ-{i},{i}.5\n".encode() for i in range(sized(3, 200))}
    for name, body in files.items():
        (root / name).write_bytes(body)
    env = SourceEnv()
    token = secrets.token_urlsafe(24)
    attempts = refused = fetched = 0

    server, url = http_api.serve_in_thread(root, token=token)
    ftp = ftp_server.serve_in_thread(root, password="chaos-ftp-password")
    try:
        assert url.startswith("https://")
        good = httpx.Client(base_url=url, verify=env.client_tls_context(), headers={"Authorization": f"Bearer {token}"})
        no_token = httpx.Client(base_url=url, verify=env.client_tls_context())
        bad_token = httpx.Client(base_url=url, verify=env.client_tls_context(), headers={"Authorization": "Bearer x"})
        plain = httpx.Client(base_url=url.replace("https://", "http://"), headers={"Authorization": f"Bearer {token}"})
        # Public roots only (certifi's bundle, named explicitly: a process that opened a Delta table points
        # SSL_CERT_FILE at the store's CA, which signed this server's certificate too).
        public_roots = ssl.create_default_context(cafile=certifi.where())
        untrusting = httpx.Client(base_url=url, verify=public_roots, headers={"Authorization": f"Bearer {token}"})
        for name, body in files.items():
            r = good.get(f"/files/{name}")
            fetched += r.status_code == 200 and r.content == body
            for client in (no_token, bad_token):
                attempts += 1
                r = client.get(f"/files/{name}")
                refused += r.status_code == 401 and r.headers.get("WWW-Authenticate", "").startswith("Bearer")
            for client in (plain, untrusting):
                attempts += 1
                try:
                    client.get(f"/files/{name}")
                except (httpx.TransportError, ssl.SSLError) as err:  # no HTTP without TLS; unknown CA
                    refused += not isinstance(err, httpx.TimeoutException)
        for c in (good, no_token, bad_token, plain, untrusting):
            c.close()

        for name, body in files.items():
            with ftplib.FTP_TLS(context=env.client_tls_context(), timeout=10) as s:
                s.connect("127.0.0.1", ftp.port)
                s.login("monitor", "chaos-ftp-password")
                s.prot_p()
                chunks: list[bytes] = []
                s.retrbinary(f"RETR /{name}", chunks.append)
                fetched += b"".join(chunks) == body
            attempts += 1
            with ftplib.FTP(timeout=10) as s:  # plain FTP: the password would cross in clear text
                s.connect("127.0.0.1", ftp.port)
                try:
                    s.login("monitor", "chaos-ftp-password")
                except ftplib.error_perm as err:
                    refused += str(err).startswith("550") and "SSL/TLS required" in str(err)
            attempts += 1
            with ftplib.FTP_TLS(context=env.client_tls_context(), timeout=10) as s:  # TLS login, clear data
                s.connect("127.0.0.1", ftp.port)
                s.login("monitor", "chaos-ftp-password")
                try:
                    s.retrbinary(f"RETR /{name}", lambda _b: None)
                except ftplib.error_perm as err:
                    refused += str(err) == "550 SSL/TLS required on the data channel."
    finally:
        server.shutdown()
        server.server_close()
        ftp.stop()
    chaos_row.count(records_in=attempts + 2 * len(files), silver=fetched, quarantined=refused)
    chaos_row.detail = (
        f"{fetched} fetches over HTTPS+token / FTPS worked; {refused}/{attempts} wrong-way attempts refused "
        "(401, no plain HTTP, CA checked, FTP 550 without TLS)"
    )
    assert fetched == 2 * len(files)
    assert refused == attempts
    assert chaos_row.lost == 0 and chaos_row.duplicated == 0
