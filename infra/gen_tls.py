"""Generate this machine's local CA and the local servers' certificate once, into a gitignored directory.

Usage: python infra/gen_tls.py .state/tls

Why: the object store (MinIO) and the source channels (MQTT broker, HTTPS API, FTPS drop) are
encrypted and their clients verify the server against a CA they were given, as with a real
ministry's servers. A fresh CA per machine means no private key is ever committed. Writes ``ca.crt``
(what clients trust), ``ca.key``, ``server.crt`` / ``server.key`` (for 127.0.0.1 and localhost), and
``truststore.p12``: the same CA as a Java truststore (PKCS#12 holding that one certificate as a
trusted entry) for Spark's S3A client, which takes its trust from the JVM
(``javax.net.ssl.trustStore``, set by ``jobs/spark.py``). The truststore holds no key and is
written unencrypted, so the JVM reads it with no password: none exists to pass anywhere.
Idempotent: existing files are kept while the server certificate is valid for another 30 days
(then all are renewed); the truststore is rewritten whenever it does not hold exactly ``ca.crt``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

FILES = ("ca.crt", "ca.key", "server.crt", "server.key")
TRUSTSTORE = "truststore.p12"
TRUSTSTORE_ALIAS = b"vn-lakehouse-local-ca"
RENEW_BEFORE = dt.timedelta(days=30)


def _still_valid(directory: Path) -> bool:
    if not all((directory / name).is_file() for name in FILES):
        return False
    cert = x509.load_pem_x509_certificate((directory / "server.crt").read_bytes())
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > RENEW_BEFORE


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vn-lakehouse local"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write(path: Path, data: bytes, private: bool) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    tmp.replace(path)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def truststore_certificates(path: Path) -> list[x509.Certificate]:
    """The trusted certificates of a truststore written by :func:`write_truststore` (no password)."""
    return [entry.certificate for entry in pkcs12.load_pkcs12(path.read_bytes(), None).additional_certs]


def write_truststore(directory: Path) -> bool:
    """(Re)write ``truststore.p12`` from ``ca.crt`` unless it already holds exactly that CA; True when written."""
    ca = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    target = directory / TRUSTSTORE
    if target.is_file():
        try:
            if truststore_certificates(target) == [ca]:
                return False
        except ValueError:
            pass  # unreadable: rewrite it
    data = pkcs12.serialize_java_truststore(
        [pkcs12.PKCS12Certificate(ca, TRUSTSTORE_ALIAS)], serialization.NoEncryption()
    )
    _write(target, data, private=False)
    return True


def generate(directory: Path) -> bool:
    """Create the CA and the server certificate unless valid ones exist, and the truststore of that
    CA unless it holds it already; True when anything was (re)generated."""
    if _still_valid(directory):
        return write_truststore(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("vn-lakehouse local CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(directory / "ca.key", _pem_key(ca_key), private=True)
    _write(directory / "server.key", _pem_key(key), private=True)
    _write(directory / "server.crt", server.public_bytes(serialization.Encoding.PEM), private=False)
    _write(directory / "ca.crt", ca.public_bytes(serialization.Encoding.PEM), private=False)
    write_truststore(directory)
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".state/tls")
    if generate(target):
        print(f"generated the local CA, the servers' certificate and the CA's Java truststore into {target}")
