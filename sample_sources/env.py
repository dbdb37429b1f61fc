"""The sample sources' own reading of the deployment's environment variables.

Why: the sources stand in for other organisations' systems and import nothing from ``jobs`` (an
import-linter contract fails otherwise), so they read the same variables, with the same defaults,
as ``jobs.settings.Settings`` does; ``tests/unit/sample_sources/test_independence.py`` checks that
both agree.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

REPO_ROOT = Path(__file__).resolve().parents[1]


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


@dataclass(frozen=True)
class SourceEnv:
    """Where the sources serve files from and the credentials their servers accept."""

    source_root: Path = field(
        default_factory=lambda: Path(_env("LAKEHOUSE_SOURCE_ROOT", str(REPO_ROOT / ".state" / "sources")))
    )
    ftp_user: str = field(default_factory=lambda: _env("LAKEHOUSE_FTP_USER", "monitor"))
    ftp_password: str = field(default_factory=lambda: _env("LAKEHOUSE_FTP_PASSWORD", ""))
    mqtt_host: str = field(default_factory=lambda: _env("LAKEHOUSE_MQTT_HOST", "127.0.0.1"))
    mqtt_port: int = field(default_factory=lambda: int(_env("LAKEHOUSE_MQTT_PORT", "1884")))
    mqtt_user: str = field(default_factory=lambda: _env("LAKEHOUSE_MQTT_USER", "lakehouse"))
    mqtt_password: str = field(default_factory=lambda: _env("LAKEHOUSE_MQTT_PASSWORD", ""))
    http_token: str = field(default_factory=lambda: _env("LAKEHOUSE_HTTP_TOKEN", ""))
    tls_ca: Path = field(
        default_factory=lambda: Path(
            _env(
                "LAKEHOUSE_TLS_CA", str(Path(_env("LAKEHOUSE_STATE_DIR", str(REPO_ROOT / ".state"))) / "tls" / "ca.crt")
            )
        )
    )
    """The local CA (infra/gen_tls.py); the servers' certificate and key sit next to it."""

    @property
    def tls_cert(self) -> Path:
        return self.tls_ca.with_name("server.crt")

    @property
    def tls_key(self) -> Path:
        return self.tls_ca.with_name("server.key")

    def server_tls_context(self) -> ssl.SSLContext:
        """The servers' TLS context (certificate of infra/gen_tls.py)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.tls_cert), str(self.tls_key))
        return ctx

    def client_tls_context(self) -> ssl.SSLContext:
        """What a device trusts: only the local CA."""
        return ssl.create_default_context(cafile=str(self.tls_ca))

    def mqtt_publisher(self) -> MqttLogin:
        """The sources' gateway login on the broker's device listener (may publish data and manifests)."""
        return MqttLogin(
            mqtt_host=self.mqtt_host,
            mqtt_port=int(_env("LAKEHOUSE_MQTT_DEVICE_PORT", str(self.mqtt_port + 1))),
            mqtt_user=_env("LAKEHOUSE_MQTT_PUBLISHER_USER", "publisher"),
            mqtt_password=_env("LAKEHOUSE_MQTT_PUBLISHER_PASSWORD", ""),
            tls_ca=self.tls_ca,
        )


@dataclass(frozen=True)
class MqttLogin:
    """One login on the broker (host, port, user, password, CA to check the broker against)."""

    mqtt_host: str
    mqtt_port: int
    mqtt_user: str
    mqtt_password: str
    tls_ca: Path


class MqttAccount(Protocol):
    """What a publisher needs to reach the broker (``SourceEnv`` has it; so does the pipeline's settings)."""

    @property
    def mqtt_host(self) -> str: ...
    @property
    def mqtt_port(self) -> int: ...
    @property
    def mqtt_user(self) -> str: ...
    @property
    def mqtt_password(self) -> str: ...
    @property
    def tls_ca(self) -> Path: ...
