"""The simulator's producers use the schema registry when the template's Kafka triggers validate with one.

:func:`registry_topics` reads the template: the Glue registry named by the ``SchemaRegistryConfig`` of its
enabled Kafka mappings, and the topics those mappings read. :func:`with_registry` wraps a sink so values for
those topics are framed by :class:`~logistics.adapters.registry_serializer.RegistrySerializer` (other topics
pass unchanged).
"""

from __future__ import annotations

from typing import Any

from local_runtime.esm.kafka.schema_registry import registry_name_of
from local_runtime.simulator.producer import RegistrySink, Sink

__all__ = ["registry_topics", "with_registry"]


def registry_topics(template: Any) -> tuple[str, frozenset[str]] | None:
    """``(registry name, topics)`` of the template's enabled Kafka mappings with a Glue ``SchemaRegistryConfig``
    (``None`` when none declares one). Several registries in one template are refused: say which to use."""
    found: dict[str, set[str]] = {}
    for spec in template.event_source_mappings():
        config = spec.schema_registry
        if not spec.enabled or config is None or not config.registry_uri:
            continue
        found.setdefault(registry_name_of(config.registry_uri), set()).update(spec.topics)
    if not found:
        return None
    if len(found) > 1:
        raise ValueError(f"the template's Kafka mappings use several registries: {', '.join(sorted(found))}")
    name, topics = next(iter(found.items()))
    return name, frozenset(topics)


def with_registry(sink: Sink, template: Any, glue_client: Any) -> Sink:
    """``sink`` framing values with the template's registry (refused values still sent raw, as the poison they
    are), or ``sink`` itself when the template's Kafka mappings use no registry."""
    from logistics.adapters.registry_serializer import RegistrySerializer

    found = registry_topics(template)
    if found is None:
        return sink
    name, topics = found
    return RegistrySink(sink, RegistrySerializer(glue_client, name), topics=topics)
