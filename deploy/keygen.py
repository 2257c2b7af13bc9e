"""Create the deployment's keys once (docker-compose's `keygen` one-shot; by hand for Kubernetes).

    python deploy/keygen.py tokens DIR [--owner UID:GID]   # the token key pairs: DIR/public/{access,service}.pub,
                                                           # DIR/access/access.pem, DIR/service/service.pem
    python deploy/keygen.py tls DIR --cert identity=identity-api [--cert ...] [--namespace crm] [--ip 127.0.0.1]
                                    [--owner UID:GID]

Each private key sits in a folder of its own (compose mounts each folder, a volume, only into the processes
that use it: docs/security.md). `--owner` (keygen running as root, compose): the files go to that user, the
folders to root and that group (0750), so the processes read them and the next run still finds them.

`tls` makes a self-signed CA (DIR/ca/ca.crt and its key DIR/ca/ca.key, which no process needs) and one
certificate per `--cert NAME=HOST[,HOST...]` in DIR/NAME/ (tls.crt, tls.key and the CA's ca.crt: what
that process mounts, and nothing else): ECDSA P-256, for server and client authentication (gRPC
mutual TLS, `crm_platform.tls`), its SANs the hosts and, per `--namespace`, their in-cluster names
(`host.ns`, `host.ns.svc`, `host.ns.svc.cluster.local`).

Existing keys and certificates are kept, so tokens stay valid and certificates stay trusted across
restarts. Kubernetes gets the same files from Secrets instead (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import ipaddress
import pathlib
import sys

CA_DAYS = 3650
CERT_DAYS = 825


_owner: tuple[int, int] | None = None  # --owner


def _own(path: pathlib.Path, mode: int) -> None:
    """Give a written file (or folder) to --owner (files: the user; folders: root and the group, 0750)."""
    import os

    if _owner is None:
        path.chmod(mode)
        return
    if path.is_dir():
        os.chown(path, 0, _owner[1])
        path.chmod(0o750)
    else:
        os.chown(path, *_owner)
        path.chmod(mode)


def tokens(folder: pathlib.Path, names=("access", "service")) -> None:
    """The Ed25519 token key pairs (`crm_platform.auth`): public keys together, each private key alone."""
    from crm_platform.auth import generate_keypair

    for name in names:
        private, public = folder / name / f"{name}.pem", folder / "public" / f"{name}.pub"
        if private.exists() and public.exists():
            print(f"{name} key pair kept")
            continue
        public.parent.mkdir(parents=True, exist_ok=True)
        generate_keypair(private, public)
        for path, mode in ((private, 0o600), (public, 0o644), (private.parent, 0o750), (public.parent, 0o755)):
            _own(path, mode)
        print(f"{name} key pair created")


def _pem_key(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: pathlib.Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    _own(path, 0o600 if private else 0o644)
    _own(path.parent, 0o750)


def make_ca(common_name: str = "CRM gRPC CA"):
    """A new self-signed CA: (private key, certificate)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - _dt.timedelta(minutes=5))
            .not_valid_after(now + _dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def dns_names(hosts: list[str], namespaces: list[str]) -> list[str]:
    """The hosts and, per namespace, their Kubernetes Service names."""
    names = list(hosts)
    for ns in namespaces:
        for host in hosts:
            names += [f"{host}.{ns}", f"{host}.{ns}.svc", f"{host}.{ns}.svc.cluster.local"]
    return list(dict.fromkeys(names))


def issue(ca_key, ca_cert, name: str, names: list[str], ips: list[str] = ()) -> tuple[bytes, bytes]:
    """A certificate of `name` signed by the CA, valid for `names` (DNS) and `ips`, for server and client
    authentication: (key PEM, certificate PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = _dt.datetime.now(_dt.timezone.utc)
    sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5)).not_valid_after(now + _dt.timedelta(days=CERT_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _pem_key(key), cert.public_bytes(serialization.Encoding.PEM)


def tls(folder: pathlib.Path, certs: dict[str, list[str]], namespaces: list[str] = (), ips: list[str] = ()) -> None:
    """The CA (kept when it exists) and DIR/<name>/{tls.crt,tls.key,ca.crt} for each certificate missing."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    ca_dir = folder / "ca"
    if (ca_dir / "ca.key").exists() and (ca_dir / "ca.crt").exists():
        ca_key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
        print("CA kept")
    else:
        ca_key, ca_cert = make_ca()
        (ca_dir / "ca.key").parent.mkdir(parents=True, exist_ok=True)
        (ca_dir / "ca.key").write_bytes(_pem_key(ca_key))
        (ca_dir / "ca.key").chmod(0o600)  # the CA's key stays with keygen's user: no process reads it
        _write(ca_dir / "ca.crt", ca_cert.public_bytes(serialization.Encoding.PEM))
        print("CA created")
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    for name, hosts in certs.items():
        out = folder / name
        if all((out / f).exists() for f in ("tls.crt", "tls.key", "ca.crt")) and (out / "ca.crt").read_bytes() == ca_pem:
            print(f"{name} certificate kept")
            continue
        key, cert = issue(ca_key, ca_cert, name, dns_names(hosts, list(namespaces)), list(ips))
        _write(out / "tls.key", key, private=True)
        _write(out / "tls.crt", cert)
        _write(out / "ca.crt", ca_pem)
        print(f"{name} certificate created")


def main(argv: list[str]) -> None:
    if argv and argv[0] not in ("tokens", "tls", "-h", "--help"):
        argv = ["tokens", *argv]  # `keygen.py DIR`: the token key pairs, as before
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p_tokens = sub.add_parser("tokens", help="the token key pairs")
    p_tokens.add_argument("folder", nargs="?", default="/var/lib/crm/keys")
    p_tokens.add_argument("--only", action="append", choices=["access", "service"],
                          help="only this key pair (repeatable)")
    p_tokens.add_argument("--owner", metavar="UID:GID")
    p_tls = sub.add_parser("tls", help="the gRPC CA and a certificate per service")
    p_tls.add_argument("folder")
    p_tls.add_argument("--cert", action="append", default=[], metavar="NAME=HOST[,HOST]", required=True)
    p_tls.add_argument("--namespace", action="append", default=[])
    p_tls.add_argument("--ip", action="append", default=[])
    p_tls.add_argument("--owner", metavar="UID:GID")
    args = parser.parse_args(argv)
    global _owner
    if args.owner:
        uid, _, gid = args.owner.partition(":")
        _owner = (int(uid), int(gid or uid))
    if args.what == "tokens":
        tokens(pathlib.Path(args.folder), tuple(args.only or ("access", "service")))
    else:
        certs = {}
        for spec in args.cert:
            name, _, hosts = spec.partition("=")
            certs[name] = [h for h in hosts.split(",") if h] or [name]
        tls(pathlib.Path(args.folder), certs, args.namespace, args.ip)


if __name__ == "__main__":
    main(sys.argv[1:])
