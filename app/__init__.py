"""Tempera: sketch-guided neural inpainting."""

__version__ = "0.1.0"
