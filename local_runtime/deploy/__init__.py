"""Create what a template declares on an AWS endpoint (moto, LocalStack), plan -> apply.

As in Chalice's deployer, the work is split in two:

* :func:`plan` (:mod:`.plan`) is pure: it reads a :class:`~local_runtime.cloudformation.Template` and emits
  frozen instructions (:class:`CreateTable`, :class:`CreateTopic`, :class:`CreateQueue`, :class:`CreateBucket`,
  and :class:`Skip` for everything that is not created locally: functions, roles, mappings...).
* :func:`apply` (:mod:`.apply`) executes them with boto3 clients aimed at an endpoint, idempotently.

The result is a :class:`Deployment` whose ``resources`` feed :meth:`Template.bind`, so ``!Ref`` and
``!GetAtt`` then resolve to real URLs and stream ARNs::

    tpl = load_template("template.yaml", config_env="local")
    deployment = apply(plan(tpl), endpoint_url=endpoint, region=tpl.context.region)
    tpl = tpl.bind(deployment.resources)
    tpl.functions(), tpl.event_source_mappings()

:func:`create_kafka_topics` (:mod:`.kafka_topics`) creates the mappings' topics (and ``kafka://``
dead-letter topics) on a broker.
"""

from local_runtime.deploy.apply import Deployment, apply, deploy_template
from local_runtime.deploy.kafka_topics import create_kafka_topics, kafka_topics
from local_runtime.deploy.plan import CreateBucket, CreateQueue, CreateTable, CreateTopic, Instruction, Plan, Skip, plan

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
