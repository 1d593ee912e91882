"""Client mistakes are one INFO line without the body; the access log goes to stderr.

BentoML logs every rejected request body (pydantic validation, a 4xx it raises) at ERROR with
the full traceback, input values included; an operator then sees alarms for callers' typos,
and customer data lands in the logs. This filter turns those records into one INFO line naming
the path, the kind of error and the fields (never their values); server errors stay as they
are. The `retain.access` lines (serving.access) are written to stderr at INFO.
"""

from __future__ import annotations

import logging
import sys

from bentoml.exceptions import BentoMLException
from pydantic import ValidationError

BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"
ACCESS_LOGGER = "retain.access"


class ClientErrorsAtInfo(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if _client_error(error):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "client error on %s [%s]: %s", (
                *(record.args or ()), _without_values(error)
            )  # fmt: skip
            record.exc_info, record.exc_text = None, None
        return True


def _without_values(error: BaseException | None) -> str:
    """The kind of error and, for a validation error, each field and rule (no input)."""
    if isinstance(error, ValidationError):
        fields = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['type']}"
            for e in error.errors(include_input=False, include_url=False, include_context=False)
        )
        return f"{error.error_count()} validation error(s): {fields}"[:300]
    return type(error).__name__


def _client_error(error: BaseException | None) -> bool:
    if isinstance(error, ValidationError):
        return True
    return isinstance(error, BentoMLException) and error.error_code.value < 500


def install() -> None:
    """Once per worker process (idempotent)."""
    logger = logging.getLogger(BENTOML_HTTP_LOGGER)
    if not any(isinstance(f, ClientErrorsAtInfo) for f in logger.filters):
        logger.addFilter(ClientErrorsAtInfo())
    access = logging.getLogger(ACCESS_LOGGER)
    if not access.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
