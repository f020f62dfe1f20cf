"""AWS DynamoDB Streams event (ShipmentsTable) -> transport-neutral state images for the notify service."""

from __future__ import annotations

from typing import Any

from logistics.adapters.codec import from_attributes
from logistics.service.notify import StateImages


def _image(attributes: dict[str, Any] | None) -> dict[str, Any] | None:
    # An image the record does not carry (INSERT has no OldImage, REMOVE no NewImage) or an empty one is None.
    return from_attributes(attributes or {}) or None


def stream_images(event: dict[str, Any]) -> list[StateImages]:
    """Every record of the event in stream order: its sequence number with its old and new images as plain dicts.

    The sequence number is the record's identity in the partial batch response (see docs/AWS_EVENT_SOURCES.md).
    """
    images: list[StateImages] = []
    for record in event.get("Records") or []:
        data = record["dynamodb"]
        images.append(
            StateImages(id=data["SequenceNumber"], old=_image(data.get("OldImage")), new=_image(data.get("NewImage")))
        )
    return images
