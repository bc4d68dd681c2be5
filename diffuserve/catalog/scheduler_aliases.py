"""Scheduler names people know from AUTOMATIC1111, ComfyUI and Fooocus (`euler_a`, `dpm++_2m`, `DPM++ 2M Karras`),
mapped to the API's diffusers class names; and the A1111 sampler name of each class, for PNG infotext.

Imports nothing heavy, so the CLI can list the aliases in `--help` quickly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The A1111 sampler name of each API scheduler class (the name its infotext and PNG Info use), per diffusers'
# own table of equivalents (docs: "Schedulers", A1111/k-diffusion names).
A1111_NAMES: dict[str, str] = {
    "DDIMScheduler": "DDIM",
    "DDPMScheduler": "DDPM",
    "DEISMultistepScheduler": "DEIS",
    "DPMSolverMultistepScheduler": "DPM++ 2M",
    "DPMSolverSinglestepScheduler": "DPM++ SDE",
    "EulerAncestralDiscreteScheduler": "Euler a",
    "EulerDiscreteScheduler": "Euler",
    "HeunDiscreteScheduler": "Heun",
    "KDPM2AncestralDiscreteScheduler": "DPM2 a",
    "KDPM2DiscreteScheduler": "DPM2",
    "LCMScheduler": "LCM",
    "LMSDiscreteScheduler": "LMS",
    "PNDMScheduler": "PLMS",
    "TCDScheduler": "TCD",
    "UniPCMultistepScheduler": "UniPC",
}

# Short names, the first of each class being the one `--help` lists (A1111's name in lower case with _ for
# spaces); the others are ComfyUI's sampler names and common spellings.
ALIASES: dict[str, str] = {
    "euler": "EulerDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler",
    "euler_ancestral": "EulerAncestralDiscreteScheduler",
    "dpm++_2m": "DPMSolverMultistepScheduler",
    "dpmpp_2m": "DPMSolverMultistepScheduler",
    "dpm++_sde": "DPMSolverSinglestepScheduler",
    "dpmpp_sde": "DPMSolverSinglestepScheduler",
    "dpm2": "KDPM2DiscreteScheduler",
    "dpm_2": "KDPM2DiscreteScheduler",
    "dpm2_a": "KDPM2AncestralDiscreteScheduler",
    "dpm_2_ancestral": "KDPM2AncestralDiscreteScheduler",
    "heun": "HeunDiscreteScheduler",
    "lms": "LMSDiscreteScheduler",
    "ddim": "DDIMScheduler",
    "ddpm": "DDPMScheduler",
    "deis": "DEISMultistepScheduler",
    "plms": "PNDMScheduler",
    "pndm": "PNDMScheduler",
    "unipc": "UniPCMultistepScheduler",
    "uni_pc": "UniPCMultistepScheduler",
    "lcm": "LCMScheduler",
    "tcd": "TCDScheduler",
}
# A1111 and ComfyUI spell a sigma schedule into the name (`dpm++_2m_karras`); the API has no schedule option,
# so these run the sampler on the model's own schedule, with a note saying so.
_SCHEDULE_SUFFIXES = ("_karras", "_exponential", "_sgm_uniform", "_simple", "_normal")


@dataclass(frozen=True)
class SchedulerChoice:
    """What a scheduler name resolved to: the API's class name, and a note when part of the name was dropped."""

    name: str
    note: str | None = None


def listed_aliases() -> list[str]:
    """One alias per class, in the order of ALIASES: what help texts show."""
    seen: set[str] = set()
    shown: list[str] = []
    for alias, cls in ALIASES.items():
        if cls not in seen:
            seen.add(cls)
            shown.append(alias)
    return shown


def _normal(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def resolve_scheduler(text: str) -> SchedulerChoice | None:
    """The API class for a class name (any case, `Scheduler` suffix optional), an alias, or an A1111 display
    name (`Euler a`, `DPM++ 2M Karras`); None when nothing matches."""
    from diffuserve.catalog.schedulers import SCHEDULER_NAMES  # the registry's pydantic: only when resolving

    key = _normal(text)
    by_class = {name.lower(): name for name in SCHEDULER_NAMES}
    for candidate in (key, key + "scheduler"):
        if candidate in by_class:
            return SchedulerChoice(by_class[candidate])
    if key in ALIASES:
        return SchedulerChoice(ALIASES[key])
    for suffix in _SCHEDULE_SUFFIXES:
        base = key.removesuffix(suffix)
        if base != key and base in ALIASES:
            schedule = suffix.removeprefix("_")
            note = (
                f"{text!r} runs {ALIASES[base]} ({base}) on the model's own noise schedule: the API has no "
                f"{schedule} schedule option"
            )
            return SchedulerChoice(ALIASES[base], note)
    return None
