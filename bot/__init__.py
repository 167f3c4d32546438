"""Tessera: a self-hosted, Midjourney-style image-generation bot for Discord."""

__version__ = "0.1.0"
