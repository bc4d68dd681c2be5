"""Access log lines without credentials: a signed URL's signature is the only credential it needs, so the query
parameters that carry one (`sig`, `signature`, S3's `X-Amz-Signature`) are logged as `[redacted]`."""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
_SECRET = re.compile(r"(?i)([?&](?:sig|signature|x-amz-signature)=)[^&#\s]*")


def redact(target: str) -> str:
    """The request target with the values of signature parameters replaced."""
    return _SECRET.sub(r"\1[redacted]", target) if "?" in target else target


class RedactSignatures(logging.Filter):
    """For uvicorn's access lines: `'%s - "%s %s HTTP/%s" %d'` with the path and query third."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        elif isinstance(record.msg, str) and not args:
            record.msg = redact(record.msg)
        return True


def redact_access_log() -> None:
    """Installs the filter on uvicorn's access logger once (it survives uvicorn's logging configuration)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactSignatures) for f in logger.filters):
        logger.addFilter(RedactSignatures())
