"""diffusers and transformers print progress bars and load chatter; a service logs its own events instead."""

from __future__ import annotations

import os


def quiet_on_import() -> None:
    """Errors only from the libraries' import on, without importing them (torch loads later, maybe on another
    thread); a verbosity the user set in the environment wins."""
    for name in ("DIFFUSERS_VERBOSITY", "TRANSFORMERS_VERBOSITY"):
        os.environ.setdefault(name, "error")


def quiet_libraries() -> None:
    """Only errors from the libraries, and no progress bars (idempotent; imports them)."""
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
