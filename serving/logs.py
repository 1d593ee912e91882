"""Client mistakes are one INFO line, not an ERROR with a traceback.

BentoML logs every rejected request body (pydantic validation, a 4xx it raises) at ERROR with
the full traceback; an operator then sees alarms for callers' typos. This filter turns those
records into one INFO line naming the path and what was wrong; server errors stay as they are.
"""

from __future__ import annotations

import logging

from bentoml.exceptions import BentoMLException
from pydantic import ValidationError

BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"


class ClientErrorsAtInfo(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if _client_error(error):
            record.levelno, record.levelname = logging.INFO, "INFO"
            reason = " ".join(str(error).split())[:300]
            record.msg, record.args = "client error on %s [%s]: %s", (*(record.args or ()), reason)
            record.exc_info, record.exc_text = None, None
        return True


def _client_error(error: BaseException | None) -> bool:
    if isinstance(error, ValidationError):
        return True
    return isinstance(error, BentoMLException) and error.error_code.value < 500


def install() -> None:
    """Once per worker process (idempotent)."""
    logger = logging.getLogger(BENTOML_HTTP_LOGGER)
    if not any(isinstance(f, ClientErrorsAtInfo) for f in logger.filters):
        logger.addFilter(ClientErrorsAtInfo())
