"""A local runtime for AWS SAM templates: embedded Kafka and AWS, resources deployed from the template,
event-source mappings emulated, handlers invoked in-process.

Generic packages: :mod:`.cloudformation` (evaluate a template), :mod:`.deploy` (create its resources),
:mod:`.services` (embedded moto and Kafka), :mod:`.invoke` (run handlers), :mod:`.esm` (mappings and
schedules), :mod:`.runtime` (all of them composed). :mod:`.cli` is the ``logistics`` command; :mod:`.demo`
and :mod:`.simulator` are this project's own setup and traffic, wired in by the CLI only.
"""
