"""The broker's produce->consume latency as the services see it (floor C, and beside the automation's loads)."""

from __future__ import annotations

import threading
import time
import uuid


class BrokerProbe:
    """The broker's produce->consume latency as the services see it: the services' producer
    (`make_producer`) sends a message with its send time every `every` s (`count` of them, or until
    the block ends), a consumer with automation's settings reads them back on a thread of its own.
    Alone it is floor C; beside a load it is the broker's latency under that load, in the same run."""

    CLIENT = ("kafka-python with the services' producer (make_producer) and automation's consumer settings "
              "(fetch wait 100 ms)")

    def __init__(self, boot: str, every: float = 0.01, count: int | None = None):
        self.boot, self.every, self.count = boot, every, count
        self.got: dict[int, float] = {}
        self.stop, self.sent = threading.Event(), threading.Event()
        self.n = 0

    def __enter__(self) -> "BrokerProbe":
        from kafka import KafkaConsumer, TopicPartition
        from kafka.admin import KafkaAdminClient, NewTopic

        from crm_platform.messaging import FETCH_MAX_WAIT_MS, make_producer

        topic = f"bench.probe.{uuid.uuid4().hex[:8]}"
        admin = KafkaAdminClient(bootstrap_servers=self.boot)
        admin.create_topics([NewTopic(topic, 1, 1)])
        admin.close()
        self.consumer = KafkaConsumer(bootstrap_servers=self.boot, enable_auto_commit=False,
                                      auto_offset_reset="earliest", max_poll_records=200,
                                      fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
        tp = TopicPartition(topic, 0)
        self.consumer.assign([tp])
        self.consumer.seek_to_beginning(tp)
        self.consumer.poll(timeout_ms=500)
        self.producer = make_producer(self.boot)

        def consume():
            while not self.stop.is_set():
                for recs in self.consumer.poll(timeout_ms=200).values():
                    now = time.perf_counter_ns()
                    for r in recs:
                        self.got[int(r.key)] = (now - int(r.value)) / 1e6

        def produce():
            start = time.perf_counter()
            while not self.sent.is_set() and (self.count is None or self.n < self.count):
                self.producer.send(topic, key=str(self.n).encode(), value=str(time.perf_counter_ns()).encode())
                self.n += 1
                time.sleep(max(0.0, start + self.n * self.every - time.perf_counter()))
            self.sent.set()

        self.threads = [threading.Thread(target=consume, daemon=True), threading.Thread(target=produce, daemon=True)]
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sent.set()
        self.threads[1].join()
        self.producer.flush()
        deadline = time.monotonic() + 20
        while len(self.got) < self.n and time.monotonic() < deadline:
            time.sleep(0.05)
        self.stop.set()
        self.threads[0].join()
        self.consumer.close()
        self.producer.close()

    @property
    def latencies(self) -> list[float]:
        return list(self.got.values())
