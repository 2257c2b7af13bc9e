"""Where an event is published, read from its contract.

Every event message declares its topic and aggregate kind once, as options in its .proto
(`crm.common.v1.topic`, `crm.common.v1.aggregate`, see protos/crm/common/v1/events.proto).
Producers (`UnitOfWork.publish`), consumers (`Subscription`) and the deployment generator
(`deploy/generate.py`, which creates the topics) all ask here instead of spelling the name.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Iterable

from google.protobuf.message import Message

from crm.common.v1 import events_pb2 as _options


def topic_of(message: Message | type[Message]) -> str:
    """The topic an event (message or class) is published to; KeyError when its contract names none."""
    topic = message.DESCRIPTOR.GetOptions().Extensions[_options.topic]
    if not topic:
        raise KeyError(f"{message.DESCRIPTOR.full_name} declares no topic")
    return topic


def aggregate_of(message: Message | type[Message]) -> str:
    """The kind of aggregate an event is about (the outbox's aggregate_type)."""
    return message.DESCRIPTOR.GetOptions().Extensions[_options.aggregate]


def events_in(module: ModuleType) -> list[type[Message]]:
    """The event classes a generated *_pb2 module defines (the messages that declare a topic)."""
    return [getattr(module, name) for name in sorted(module.DESCRIPTOR.message_types_by_name)
            if module.DESCRIPTOR.message_types_by_name[name].GetOptions().Extensions[_options.topic]]


def topics_in(*modules: ModuleType) -> tuple[str, ...]:
    """Every topic the events of these modules are published to (sorted, once each)."""
    return tuple(sorted({topic_of(cls) for module in modules for cls in events_in(module)}))


def event_modules() -> Iterable[ModuleType]:
    """Every generated events module (`crm.<service>.events.v<N>.*_pb2`)."""
    import crm

    for info in pkgutil.walk_packages(crm.__path__, "crm."):
        if ".events." in info.name and info.name.endswith("_pb2"):
            yield importlib.import_module(info.name)


def all_topics() -> tuple[str, ...]:
    """Every topic any service publishes to: what a deployment creates."""
    return topics_in(*event_modules())
