"""How a process authenticates to Kafka: the settings every producer, consumer and admin client of
`crm_platform` is made with (kafka-python's `security_protocol`, `sasl_mechanism`,
`sasl_plain_username`, `sasl_plain_password`, `ssl_cafile`).

Settings (shared, `ServiceSettings`; the topics command reads the same names from the environment):
`KAFKA_SECURITY_PROTOCOL` (`PLAINTEXT`, the default and `make run`'s open Tansu on loopback;
`SASL_PLAINTEXT`, `SASL_SSL`), `KAFKA_SASL_MECHANISM` (`SCRAM-SHA-512`), `KAFKA_SASL_USERNAME` /
`KAFKA_SASL_PASSWORD` (one SCRAM user per service: docs/security.md) and `KAFKA_SSL_CAFILE` (SASL_SSL: the
brokers' CA, else the system's). `runtime.run` sets the process's once (`configure`); `client_config()`
is what the clients are made with.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


@dataclasses.dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str = ""
    password: str = dataclasses.field(default="", repr=False)
    cafile: str = ""

    def problems(self) -> list[str]:
        """What is wrong with these settings (empty: fine)."""
        if self.protocol not in PROTOCOLS:
            return [f"KAFKA_SECURITY_PROTOCOL={self.protocol!r} is not one of {', '.join(PROTOCOLS)}"]
        if not self.protocol.startswith("SASL_"):
            return []
        out = []
        if self.mechanism not in MECHANISMS:
            out.append(f"KAFKA_SASL_MECHANISM={self.mechanism!r} is not one of {', '.join(MECHANISMS)}")
        if not (self.username and self.password):
            out.append(f"KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with {self.protocol}")
        return out

    def client_config(self) -> dict:
        """Keyword arguments for KafkaProducer, KafkaConsumer and KafkaAdminClient."""
        config: dict = {"security_protocol": self.protocol}
        if self.protocol.startswith("SASL_"):
            config.update(sasl_mechanism=self.mechanism, sasl_plain_username=self.username,
                          sasl_plain_password=self.password)
        if self.protocol == "SASL_SSL" and self.cafile:
            config["ssl_cafile"] = self.cafile
        return config


def from_environ(environ: Mapping[str, str]) -> KafkaSecurity:
    """The settings by their variable names (the topics command, which reads no settings class)."""
    return KafkaSecurity(protocol=(environ.get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").strip().upper(),
                         mechanism=(environ.get("KAFKA_SASL_MECHANISM") or "SCRAM-SHA-512").strip().upper(),
                         username=environ.get("KAFKA_SASL_USERNAME", ""), password=environ.get("KAFKA_SASL_PASSWORD", ""),
                         cafile=environ.get("KAFKA_SSL_CAFILE", ""))


def from_settings(settings) -> KafkaSecurity:
    """From a `ServiceSettings` (its `kafka_*` fields)."""
    password = settings.kafka_sasl_password
    return KafkaSecurity(protocol=settings.kafka_security_protocol.strip().upper(),
                         mechanism=settings.kafka_sasl_mechanism.strip().upper(),
                         username=settings.kafka_sasl_username,
                         password=password.get() if hasattr(password, "get") else password,
                         cafile=settings.kafka_ssl_cafile)


_security = KafkaSecurity()


def configure(security: KafkaSecurity) -> None:
    """Set the process's Kafka authentication (`runtime.run`, from its settings)."""
    global _security
    _security = security


def current() -> KafkaSecurity:
    return _security


def client_config() -> dict:
    """The process's Kafka client arguments (PLAINTEXT until `configure`)."""
    return _security.client_config()
