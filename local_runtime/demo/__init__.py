"""This project's own local setup on top of the generic runtime: merchants and their webhooks
(:mod:`.merchants`, :mod:`.webhook_sink`), the ``logistics up`` session and status line (:mod:`.session`,
:mod:`.status_line`). The generic runtime never imports this package; the CLI wires it in.
"""
