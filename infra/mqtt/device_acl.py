"""Write the broker's device-listener logins and ACLs (mosquitto's dynamic-security plugin file).

Usage: python infra/mqtt/device_acl.py OUT.json DEVICES.env   (publisher login from the environment)

Why the plugin and not a password file + acl_file: mosquitto 2.0's acl_file never refuses a
SUBSCRIBE (it only filters deliveries), so a device could not be told no. The plugin refuses it
(SUBACK "Not authorized"), and a denied publish gets PUBACK "Not authorized". Each device gets a
role allowing exactly one thing: publishing on ``<a>/<b>/<c>/<its id>`` (its own readings); the
publisher (the sources' gateway) may publish anywhere and read the day's retained manifests.
Everything else is denied by default. Passwords are stored as PBKDF2-SHA512 hashes, as the plugin
itself does; the plain passwords stay in the 0600 env files under .state.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

ITERATIONS = 20_000


def _client(user: str, password: str, role: str) -> dict[str, Any]:
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS, 64)
    return {
        "username": user,
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": ITERATIONS,
        "roles": [{"rolename": role}],
    }


def _acl(kind: str, topic: str) -> dict[str, Any]:
    return {"acltype": kind, "topic": topic, "priority": 0, "allow": True}


def config(publisher: str, publisher_password: str, devices: dict[str, str]) -> dict[str, Any]:
    """The plugin's configuration: default deny, the publisher's role, one role per device."""
    roles = [
        {
            "rolename": "publisher",
            "acls": [
                _acl("publishClientSend", "#"),
                _acl("subscribePattern", "+/+/+/_manifest/#"),
                _acl("publishClientReceive", "+/+/+/_manifest/#"),
            ],
        }
    ]
    clients = [_client(publisher, publisher_password, "publisher")]
    for device, password in sorted(devices.items()):
        roles.append({"rolename": f"device-{device}", "acls": [_acl("publishClientSend", f"+/+/+/{device}")]})
        clients.append(_client(device, password, f"device-{device}"))
    return {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": clients,
        "groups": [],
        "roles": roles,
    }


def main(out: Path, devices_env: Path) -> None:
    devices = {}
    for line in devices_env.read_text().splitlines():
        name, sep, password = line.partition("=")
        if sep:
            devices[name.strip()] = password.strip()
    publisher = os.environ.get("LAKEHOUSE_MQTT_PUBLISHER_USER", "") or "publisher"
    body = json.dumps(config(publisher, os.environ["LAKEHOUSE_MQTT_PUBLISHER_PASSWORD"], devices), indent=1)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(body)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
