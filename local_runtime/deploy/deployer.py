"""Former single-module location of :mod:`local_runtime.deploy`; kept so ``local_runtime.deploy.deployer``
imports keep working. New code imports from :mod:`local_runtime.deploy`."""

from local_runtime import deploy as _package
from local_runtime.deploy import *  # noqa: F403

__all__ = _package.__all__
