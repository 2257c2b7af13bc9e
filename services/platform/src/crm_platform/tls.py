"""Mutual TLS between the processes: every gRPC server and client channel, when certificates are given.

Settings (files; `crm_platform.config` conventions): `GRPC_TLS_CA` (shared: the CA every process
trusts), `<SVC>_GRPC_TLS_CERT` / `<SVC>_GRPC_TLS_KEY` (this service's certificate and key, PEM;
`GATEWAY_GRPC_TLS_CERT` / `GATEWAY_GRPC_TLS_KEY` for the gateway). With all three, servers require
a client certificate signed by the CA (`require_client_auth`) and channels present the process's
own certificate and check the server's against the CA and the target's host name. With none, gRPC
runs in plaintext, which the settings refuse on any address outside loopback unless
`CRM_ENV=development` (`plaintext_problems`, called by `config.load`).

`deploy/keygen.py tls` makes the CA and one certificate per service and the gateway, with the
service's DNS names as SANs (docs/security.md).
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Mapping

import grpc

from crm_platform.config import is_development

LOOPBACK_HOSTS = frozenset({"localhost", "::1", "[::1]"})


@dataclasses.dataclass(frozen=True)
class Tls:
    """The CA, the process's certificate and its private key (PEM bytes)."""

    ca: bytes
    cert: bytes
    key: bytes

    @classmethod
    def from_files(cls, ca: str, cert: str, key: str) -> "Tls":
        return cls(pathlib.Path(ca).read_bytes(), pathlib.Path(cert).read_bytes(), pathlib.Path(key).read_bytes())

    def server_credentials(self) -> grpc.ServerCredentials:
        """Server side: present our certificate, require a client certificate the CA signed."""
        return grpc.ssl_server_credentials([(self.key, self.cert)], root_certificates=self.ca,
                                           require_client_auth=True)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Client side: trust only the CA, present our certificate."""
        return grpc.ssl_channel_credentials(self.ca, self.key, self.cert)

    @property
    def dns_names(self) -> list[str]:
        """The DNS names our certificate is valid for (its SANs): a process checking its own server
        (the liveness health check on 127.0.0.1) asks for the first of them."""
        from cryptography import x509

        cert = x509.load_pem_x509_certificate(self.cert)
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return []
        return san.get_values_for_type(x509.DNSName)


def is_loopback(address: str) -> bool:
    """`host:port` on the loopback interface (127.0.0.0/8, ::1, localhost)."""
    host = address.rpartition(":")[0] if ":" in address else address
    host = host.strip()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def tls_of(ca: str, cert: str, key: str) -> Tls | None:
    """The Tls of three file settings: all set -> Tls, none -> None (plaintext)."""
    if not (ca or cert or key):
        return None
    return Tls.from_files(ca, cert, key)


def tls_problems(settings, environ: Mapping[str, str], prefix: str = "") -> list[str]:
    """What is wrong with the gRPC transport of a settings object that has `grpc_tls_ca`, `grpc_tls_cert`
    and `grpc_tls_key`: only some of the three set, a file missing, or plaintext on an address outside
    loopback (its settings named `*GRPC_BIND` / `*GRPC_ADDR`) outside CRM_ENV=development."""
    def name(field: str) -> str:
        meta = next(f.metadata for f in dataclasses.fields(settings) if f.name == field)
        return meta["env"] if meta["shared"] or not prefix else f"{prefix}_{meta['env']}"

    files = {name(f): getattr(settings, f) for f in ("grpc_tls_ca", "grpc_tls_cert", "grpc_tls_key")}
    given = [n for n, v in files.items() if v]
    if given and len(given) < len(files):
        return [f"{', '.join(n for n, v in files.items() if not v)} must be set with {', '.join(given)} "
                "(gRPC mutual TLS needs the CA, the certificate and its key)"]
    if given:
        return [f"{n}={v!r}: no such file" for n, v in files.items() if not pathlib.Path(v).is_file()]
    if is_development(environ):
        return []
    problems = []
    for f in dataclasses.fields(settings):
        env = f.metadata.get("env", "")
        value = getattr(settings, f.name, "")
        if env.endswith(("GRPC_BIND", "GRPC_ADDR")) and isinstance(value, str) and value and not is_loopback(value):
            problems.append(f"{name(f.name)}={value} is outside loopback but gRPC has no TLS: set "
                            f"{', '.join(files)} (only CRM_ENV=development runs gRPC in plaintext there)")
    return problems
