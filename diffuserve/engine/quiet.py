"""diffusers and transformers print progress bars and load chatter; a service logs its own events instead."""

from __future__ import annotations

import diffusers
import transformers


def quiet_libraries() -> None:
    """Only errors from the libraries, and no progress bars (idempotent)."""
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
