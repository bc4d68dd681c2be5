"""diffuserve: a self-hosted image generation service over diffusers."""

__version__ = "0.1.0"
