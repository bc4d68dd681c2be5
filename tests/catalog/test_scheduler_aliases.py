"""Scheduler names as people know them from A1111, ComfyUI and Fooocus, resolved to the API's class names."""

from __future__ import annotations

import pytest

from diffuserve.catalog.scheduler_aliases import A1111_NAMES, ALIASES, listed_aliases, resolve_scheduler
from diffuserve.catalog.schedulers import SCHEDULER_NAMES


@pytest.mark.parametrize(
    "text,name",
    [
        ("Euler", "EulerDiscreteScheduler"),
        ("euler_a", "EulerAncestralDiscreteScheduler"),
        ("Euler a", "EulerAncestralDiscreteScheduler"),
        ("euler_ancestral", "EulerAncestralDiscreteScheduler"),
        ("DPM++ 2M", "DPMSolverMultistepScheduler"),
        ("dpmpp_2m", "DPMSolverMultistepScheduler"),
        ("DPM2 a", "KDPM2AncestralDiscreteScheduler"),
        ("UniPC", "UniPCMultistepScheduler"),
        ("eulerdiscretescheduler", "EulerDiscreteScheduler"),
        ("EulerDiscrete", "EulerDiscreteScheduler"),
        ("DDIMScheduler", "DDIMScheduler"),
    ],
)
def test_names_people_know_resolve_to_the_api_class(text: str, name: str) -> None:
    choice = resolve_scheduler(text)
    assert choice is not None and choice.name == name and choice.note is None


def test_a_schedule_suffix_runs_the_sampler_and_says_what_was_dropped() -> None:
    choice = resolve_scheduler("dpm++_2m_karras")
    assert choice is not None and choice.name == "DPMSolverMultistepScheduler"
    assert choice.note is not None and "karras" in choice.note and "model's own" in choice.note
    spelled = resolve_scheduler("DPM++ 2M Karras")
    assert spelled is not None and spelled.name == choice.name and spelled.note is not None


def test_unknown_names_resolve_to_nothing() -> None:
    assert resolve_scheduler("Karras") is None and resolve_scheduler("dpm++_2m_sde") is None


def test_aliases_name_api_classes_and_the_listed_ones_cover_every_class() -> None:
    assert set(ALIASES.values()) <= set(SCHEDULER_NAMES)
    listed = listed_aliases()
    assert {ALIASES[a] for a in listed} == set(SCHEDULER_NAMES) and len(listed) == len(SCHEDULER_NAMES)
    # The listed alias of each class is A1111's sampler name, lower case with _ for spaces.
    assert {A1111_NAMES[ALIASES[a]].lower().replace(" ", "_") for a in listed} == set(listed)
