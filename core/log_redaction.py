"""API tokens never reach the logs: uvicorn's access and WebSocket lines print the query string,
and the WebSocket doors (live stream, mod_audio_fork) take the token there."""

import logging
import re

SECRET_IN_QUERY = re.compile(r"([?&](?:token|access_token|api_key|apikey)=)[^&\s\"']*", re.I)
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn")


def redact(text: str) -> str:
    """text with every token=… value in a query string replaced by ***."""
    return SECRET_IN_QUERY.sub(r"\1***", text)


class RedactTokens(logging.Filter):
    """Masks token query values in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Put the filter on the server's loggers (idempotent)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
