"""ConfigError: a setting that cannot be used; a sibling of errors.py's tree (DiffuserveError → ConfigError)."""

from __future__ import annotations

from diffuserve.errors import DiffuserveError


class ConfigError(DiffuserveError):
    """A setting's value is malformed or names a service that cannot be used; nothing was started."""

    reason = "config_error"
