"""The midjourney-proxy provider: client, status batching, webhook receiver, download."""

from bot.providers.midjourney.buttons import classify_button, classify_custom_id, find_button
from bot.providers.midjourney.client import MidjourneyProxyProvider
from bot.providers.midjourney.retry import RetryPolicy
from bot.providers.midjourney.webhook import WebhookReceiver

__all__ = [
    "MidjourneyProxyProvider",
    "RetryPolicy",
    "WebhookReceiver",
    "classify_button",
    "classify_custom_id",
    "find_button",
]
