"""Former single-module location of :mod:`local_runtime.deploy`; kept so ``local_runtime.deploy.deployer``
imports keep working. New code imports from :mod:`local_runtime.deploy`."""

from local_runtime.deploy import (
    CreateBucket,
    CreateQueue,
    CreateTable,
    CreateTopic,
    Deployment,
    Instruction,
    Plan,
    Skip,
    apply,
    create_kafka_topics,
    deploy_template,
    kafka_topics,
    plan,
)

__all__ = [
    "CreateBucket",
    "CreateQueue",
    "CreateTable",
    "CreateTopic",
    "Deployment",
    "Instruction",
    "Plan",
    "Skip",
    "apply",
    "create_kafka_topics",
    "deploy_template",
    "kafka_topics",
    "plan",
]
