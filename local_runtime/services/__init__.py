"""The processes a local platform runs on: an embedded AWS (moto server) and an embedded Kafka broker (Tansu)."""
