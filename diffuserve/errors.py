"""The domain error tree; front ends map it to their wire (HTTP status, MCP tool error, CLI message).

DiffuserveError
├── InvalidRequest      a request broke a rule; `reason` is a short code, `message` says what is allowed
├── NotFound            an id (model, asset, job) that does not exist
├── Unauthorized        missing or wrong credentials
├── Forbidden           the key may not do this (a read-only key writing, a member managing keys)
├── RateLimited         over a quota or a rate for now; `retry_after_s` says when to come back
├── Conflict            the action does not fit the object's state (e.g. cancelling a finished job)
├── ModelLoadError      a registered model's files are missing or not what was expected
├── ConfigError         a setting is malformed or names a service that cannot be used
├── Unavailable         a service the request needs (the database) cannot be reached right now; retry later
├── RateLimited         too many attempts (failed authentications) in a while; retry after `retry_after_s`
└── GenerationCanceled  the run was stopped by its cancel flag
"""

from __future__ import annotations


class DiffuserveError(Exception):
    """Base of every error diffuserve raises on purpose."""

    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidRequest(DiffuserveError):
    """A request broke a validation rule; nothing was done."""

    reason = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.field = field


class NotFound(DiffuserveError):
    """A model, asset or job id that does not exist."""

    reason = "not_found"


class Unauthorized(DiffuserveError):
    """Missing or wrong credentials."""

    reason = "unauthorized"


class Forbidden(DiffuserveError):
    """The caller is known but its role does not allow the action."""

    reason = "forbidden"


class RateLimited(DiffuserveError):
    """Over a quota or rate limit; nothing was done. Retry after `retry_after_s` seconds."""

    reason = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after_s = retry_after_s


class Conflict(DiffuserveError):
    """The action does not fit the object's current state."""

    reason = "conflict"


class ModelLoadError(DiffuserveError):
    """A model's files are missing or wrong; the message names the file and what was expected."""

    reason = "model_load_error"


class GenerationCanceled(DiffuserveError):
    """The generation was stopped because its cancel flag was set."""

    reason = "canceled"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its class name when the message is empty."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class ConfigError(DiffuserveError):
    """A setting's value is malformed or names a service that cannot be used; nothing was started."""

    reason = "config_error"


class Unavailable(DiffuserveError):
    """A service the request needs cannot be reached right now, or the queue is full; nothing was lost, the client
    may retry (after `retry_after_s` when given)."""

    reason = "unavailable"

    def __init__(self, message: str, *, reason: str | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after_s = retry_after_s
