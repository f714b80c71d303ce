"""A CA and an mbus server certificate for tests, as ``bosh create-env --vars-store`` generates them.

bosh-deployment's ``bosh.yml`` declares ``mbus_bootstrap_ssl`` as a certificate
signed by ``default_ca`` with the VM's IP as common name and alternative name;
the CLI puts ``certificate`` and ``private_key`` in the VM's
``env.bosh.mbus.cert`` and checks the agent against ``ca``. ``generate`` makes
the same three PEM strings for an IP (127.0.0.1: the simulator's agents listen
on loopback). It only generates keys and certificates: it writes no files and
opens no connections.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_BITS = 2048  # what the CLI's certificate generator uses
VALID_FOR = datetime.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class MbusCert:
    """PEM strings: the CA certificate, the server certificate and its private key."""

    ca: str
    certificate: str
    private_key: str = field(repr=False)

    def env_cert(self) -> dict[str, str]:
        """The ``env.bosh.mbus.cert`` hash of a create_vm environment."""
        return {"ca": self.ca, "certificate": self.certificate, "private_key": self.private_key}


def generate(ip: str = "127.0.0.1") -> MbusCert:
    """A fresh CA and a server certificate for ``ip`` (common name and IP alternative name)."""
    ca_key, server_key = _key(), _key()
    ca_name = _name("default_ca")  # the vars-store CA's name in bosh.yml
    ca = (
        _builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        _builder(_name(ip), ca_name, server_key)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return MbusCert(_pem(ca), _pem(server), _key_pem(server_key))


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
    )


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _key_pem(key: rsa.RSAPrivateKey) -> str:
    # "BEGIN RSA PRIVATE KEY" (PKCS#1), as in the CLI's vars store.
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode("ascii")
