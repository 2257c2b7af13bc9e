"""Prometheus metrics shared by the plumbing (relay, consumer, gRPC server)."""

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_PUBLISHED = Counter("crm_outbox_published_total", "Outbox events acknowledged by the broker")
# alert on any increase: an event the relay gave up on (parked_at set; its key's later events went on)
OUTBOX_PARKED = Counter("crm_outbox_parked_total", "Outbox events parked after failing to publish", ["topic"])
OUTBOX_RELAY_LEADER = Gauge("crm_outbox_relay_leader", "1 while this process's relay holds its database's lease")
EVENTS_CONSUMED = Counter("crm_events_consumed_total", "Events handled by a consumer", ["consumer", "outcome"])
EVENTS_DEAD_LETTERED = Counter("crm_events_dead_lettered_total", "Events sent to a dead-letter topic", ["consumer"])
GRPC_HANDLED = Counter("crm_grpc_handled_total", "gRPC calls handled", ["method", "code"])
GRPC_LATENCY = Histogram("crm_grpc_handling_seconds", "gRPC handling time", ["method"])
