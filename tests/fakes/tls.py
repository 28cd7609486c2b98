"""TLS for the fake Slack: a throwaway self-signed certificate for 127.0.0.1, so
tests and benchmarks can talk HTTPS as the bot does to slack.com."""

from __future__ import annotations

import ipaddress
import ssl
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fakes.slack_api import FakeSlack


def self_signed(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) files for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def answer_over_tls(fake: FakeSlack, cert_file: str | Path, key_file: str | Path) -> None:
    """Make a fake Slack (before `start`) answer HTTPS only, with this certificate.
    Its `url` then starts with https://."""
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert_file, key_file)
    fake.server.socket = server_side.wrap_socket(fake.server.socket, server_side=True)
    fake.scheme = "https"


def serve_tls(fake: FakeSlack) -> ssl.SSLContext:
    """`answer_over_tls` with a throwaway certificate; returns a client context that
    trusts it."""
    cert_file, key_file = self_signed(Path(tempfile.mkdtemp(prefix="fake-slack-tls-")))
    answer_over_tls(fake, cert_file, key_file)
    return ssl.create_default_context(cafile=str(cert_file))
