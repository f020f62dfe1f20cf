"""The ``logistics`` command (console script ``local_runtime.cli:main``, or ``python -m local_runtime.cli``).

:mod:`.commands` builds the parser and dispatches; one module per subcommand (:mod:`.invoke`, :mod:`.deploy`,
:mod:`.up`, :mod:`.simulate`); :mod:`.template_args` holds the template options they share.
"""

from local_runtime.cli.commands import COMMANDS, Command, build_parser, main
from local_runtime.cli.template_args import add_template_arguments, load_template_from_args

__all__ = ["COMMANDS", "Command", "add_template_arguments", "build_parser", "load_template_from_args", "main"]
