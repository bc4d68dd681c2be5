"""What the CLI's commands share: the one-line error, the help layout, reading images, the registry, lazy choices.

Light on purpose: `diffuserve --help` imports this and argparse, not pydantic, PIL or torch.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

    from diffuserve.catalog.registry import Registry
    from diffuserve.config import Settings

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_USAGE = 2


class CliError(Exception):
    """A user mistake on the command line; printed as one line."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Adds `(default: X)`, or `(default: none)`, to every option taking a value whose help does not say it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or action.nargs == 0 or action.required or "default" in text:
            return text
        if action.default is argparse.SUPPRESS:  # the value comes from elsewhere; its help says from where
            return text
        if action.default is None or action.default == []:
            return text + " (default: none)"
        return text + " (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose subcommands share its help layout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


class LazyChoices(Sequence[str]):
    """argparse `choices` computed on first use: listing them may import the catalog (pydantic), which only the
    commands that check or show them should pay for."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        self._load = load
        self._values: Sequence[str] | None = None

    @property
    def values(self) -> Sequence[str]:
        if self._values is None:
            self._values = tuple(self._load())
        return self._values

    def __getitem__(self, index: Any) -> Any:
        return self.values[index]

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __contains__(self, value: object) -> bool:
        return value in self.values


def settings_of(args: argparse.Namespace, **overrides: Any) -> Settings:
    from diffuserve.config import Settings  # pydantic-settings: only once a command runs

    return Settings.from_cli(args, **overrides)


def registry_of(settings: Settings, *, demo: bool = True) -> Registry:
    from diffuserve.catalog.registry import Registry

    registry = Registry(settings.resolved_registry_path)
    if demo and settings.demo_models:
        from diffuserve.engine.demo import register_demo_models

        register_demo_models(registry, settings.resolved_demo_models_dir)
    return registry


def open_image(path: str, option: str) -> Image.Image:
    """An image file named on the command line, loaded; a CliError naming the option otherwise."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image
    except FileNotFoundError as exc:
        raise CliError(f"{option} {path}: no such file") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise CliError(f"{option} {path}: not a readable image ({exc})") from exc
