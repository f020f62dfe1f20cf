"""How every subcommand picks and evaluates a template: the shared options and the loader behind them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local_runtime.cloudformation import Template

__all__ = ["add_template_arguments", "load_template_from_args"]


def add_template_arguments(parser: argparse.ArgumentParser) -> None:
    """``--template``, ``--parameter-overrides``, ``--config-env``, ``--config-file``, ``--region``,
    ``--stack-name``: how every subcommand picks and evaluates a template."""
    parser.add_argument("--template", "-t", default="template.yaml", help="SAM template (default: template.yaml)")
    parser.add_argument("--parameter-overrides", nargs="+", metavar="KEY=VALUE",
                        help='parameter values, SAM style: K=V K2="v 2" (win over samconfig)')
    parser.add_argument("--config-env", default="local", help="samconfig environment (default: local)")
    parser.add_argument("--config-file", help="samconfig file (default: samconfig.toml next to the template)")
    parser.add_argument("--region", help="AWS region (default: AWS_DEFAULT_REGION, samconfig, us-east-1)")
    parser.add_argument("--stack-name", help="stack name (default: samconfig's, else 'local')")


def load_template_from_args(args: argparse.Namespace, *, account_id: str | None = None,
                            endpoint_url: str | None = None) -> Template:
    """Load the template named by :func:`add_template_arguments`' options."""
    # Imported here: building the parser must stay cheap (`logistics --help`).
    from local_runtime.cloudformation import load_template

    return load_template(
        args.template, parameter_overrides=args.parameter_overrides, config_env=args.config_env,
        config_file=args.config_file, region=args.region, stack_name=args.stack_name,
        account_id=account_id, endpoint_url=endpoint_url)
