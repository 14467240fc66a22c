"""TLS for remote use: a certificate pair for ``serve``, pinned trust for clients.

``serve --tls-cert/--tls-key`` uses the operator's pair; ``--tls-self-signed`` generates
one (EC P-256, kept in the config folder so its fingerprint survives restarts) and prints
its SHA-256 fingerprint. A client either trusts a CA file (``--tls-ca``, which may be the
server's own certificate) or pins that fingerprint (``--tls-pin``): it fetches the server's
certificate once, checks the fingerprint, then lets gRPC verify the connection against
exactly that certificate, so only the holder of its key can answer.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import BridgeError
from bridge.local_config import private_folder, tls_pair_paths
from bridge.outputs import atomic_write

SELF_SIGNED_NAME = "scorebridge"  # every generated certificate carries this DNS name
_VALID_DAYS = 3650


class TlsError(BridgeError):
    """A certificate, key, CA file or pin that cannot be used."""


@dataclass(frozen=True)
class TlsPair:
    cert_pem: bytes
    key_pem: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.cert_pem)


def fingerprint_of(cert_pem: bytes) -> str:
    """``sha256:`` and the hex SHA-256 of the certificate's DER encoding."""
    der = ssl.PEM_cert_to_DER_cert(cert_pem.decode("ascii"))
    return "sha256:" + hashlib.sha256(der).hexdigest()


def normalise_pin(pin: str) -> str:
    """Accept ``sha256:ab12...``, ``AB:12:...`` or bare hex; return the ``sha256:`` form."""
    text = pin.strip().lower().removeprefix("sha256:").replace(":", "")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise TlsError("not a SHA-256 fingerprint (64 hex digits, as `serve` prints it)",
                       field="tls_pin")
    return "sha256:" + text


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"; an address anyone else can reach is not."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def load_pair(cert: str | Path, key: str | Path) -> TlsPair:
    """The operator's certificate and key (PEM files)."""
    pems = []
    for path, what, marker in ((cert, "certificate", b"CERTIFICATE"),
                               (key, "private key", b"PRIVATE KEY")):
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as err:
            raise TlsError(f"cannot read the TLS {what}: {err.strerror}", path=path) from None
        if b"-----BEGIN" not in data or marker not in data:
            raise TlsError(f"not a PEM {what}", path=path)
        pems.append(data)
    try:
        fingerprint_of(pems[0])
    except (ValueError, UnicodeDecodeError):
        raise TlsError("not a PEM certificate", path=cert) from None
    return TlsPair(pems[0], pems[1])


def load_or_create_self_signed(config_dir: Path, hosts: list[str] = ()) -> TlsPair:
    """The generated pair in the config folder, made on first use (key 0600)."""
    cert_path, key_path = tls_pair_paths(private_folder(config_dir))
    if cert_path.is_file() and key_path.is_file() and not key_path.is_symlink() \
            and not key_path.stat().st_mode & 0o077:
        return load_pair(cert_path, key_path)
    pair = _generate(hosts)
    atomic_write(key_path, lambda f: f.write(pair.key_pem), mode=0o600)
    atomic_write(cert_path, lambda f: f.write(pair.cert_pem), mode=0o644)
    return pair


def _generate(hosts: list[str]) -> TlsPair:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(SELF_SIGNED_NAME), x509.DNSName("localhost")]
    seen = {SELF_SIGNED_NAME, "localhost"}
    for host in [socket.gethostname(), "127.0.0.1", "::1", *hosts]:
        host = host.strip("[]")
        if not host or host in seen or host in ("0.0.0.0", "::"):
            continue
        seen.add(host)
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SELF_SIGNED_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return TlsPair(cert.public_bytes(serialization.Encoding.PEM), key_pem)


# ---------------------------------------------------------------- client side


def read_ca(path: str | Path) -> bytes:
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as err:
        raise TlsError(f"cannot read the CA file: {err.strerror}", path=path) from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise TlsError("not a PEM certificate file", path=path)
    return data


def pinned_root(address: str, pin: str, *, timeout_s: float = 10.0) -> tuple[bytes, str]:
    """Fetch the server's certificate, check it against ``pin``; return (PEM, name in it).

    The PEM becomes the only trusted root of the gRPC channel and the name its target
    name, so the channel is verified against exactly the pinned certificate.
    """
    expected = normalise_pin(pin)
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # trust comes from the fingerprint check below
    context.set_alpn_protocols(["h2"])
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as raw, \
                context.wrap_socket(raw, server_hostname=host or None) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError) as err:
        raise TlsError(f"cannot fetch the TLS certificate of {address}: {err}",
                       field="server") from None
    got = "sha256:" + hashlib.sha256(der).hexdigest()
    if not hmac.compare_digest(got, expected):
        raise TlsError(f"the bridge at {address} presents certificate {got}, not the pinned "
                       f"{expected}; refusing to connect", field="tls_pin")
    return ssl.DER_cert_to_PEM_cert(der).encode("ascii"), _first_name(der)


def _first_name(der: bytes) -> str:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = san.get_values_for_type(x509.DNSName)
        if dns:
            return dns[0]
    except x509.ExtensionNotFound:
        pass
    cn = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    return str(cn[0].value) if cn else SELF_SIGNED_NAME
