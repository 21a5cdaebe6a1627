"""The one error type a user ever sees.

Every problem the user can fix — a malformed catalog, a missing index, no fine-tuning run, an
unreachable server — raises a subclass of :class:`DyagError` whose message is the whole story:
what went wrong, where (file, record, field), and what to do. The CLI prints that message on one
line and exits with code 2 (:mod:`cli.main`); the HTTP API, the MCP server and the web app show
it as it is. Anything else is a bug, and keeps its traceback.
"""

from __future__ import annotations


class DyagError(Exception):
    """A problem the user can fix; ``str(error)`` says what, where and what to do."""
