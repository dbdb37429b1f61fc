"""The sample sources' own reading of the deployment's environment variables.

Why: the sources stand in for other organisations' systems and import nothing from ``jobs`` (an
import-linter contract fails otherwise), so they read the same variables, with the same defaults,
as ``jobs.settings.Settings`` does; ``tests/unit/sample_sources/test_independence.py`` checks that
both agree.
"""

from __future__ import annotations

import os
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
