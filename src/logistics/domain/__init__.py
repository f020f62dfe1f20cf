"""The logistics domain: status model, shipment and warehouse state, notification rules.

Standard library only: nothing here knows about Kafka, Lambda or DynamoDB.
"""
