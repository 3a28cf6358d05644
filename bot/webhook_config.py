"""``[[webhooks]]``: where Parley POSTs signed events, which events, and the secret.

The secret is read from the environment variable named by ``secret_env`` (default
``PARLEY_WEBHOOK_SECRET``), so it never sits in a file in git; a ``secret`` in the file
is accepted for a quick trial but the environment wins. A hook without a secret, with an
unknown event name or without a url is refused at start-up, naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WebhookEvent = Literal["answer.recorded", "answer.skipped", "flow.completed", "consent.given",
                       "participant.opted_out", "round.completed"]
DEFAULT_SECRET_ENV = "PARLEY_WEBHOOK_SECRET"


class WebhookConfig(BaseModel):
    """One ``[[webhooks]]`` entry."""

    model_config = ConfigDict(extra="forbid")

    url: str
    events: Annotated[list[WebhookEvent], Field(min_length=1)]
    secret_env: str = DEFAULT_SECRET_ENV
    secret: str = Field(default="", repr=False)
    include_answers: bool = True
    """False: ``answer.recorded`` carries which question was answered, not the value."""
    timeout: Annotated[float, Field(gt=0, le=60)] = 10.0
    """Seconds allowed for each step of a request: connecting, sending, the answer."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// address")
        return value

    @model_validator(mode="after")
    def _secret(self) -> WebhookConfig:
        if not self.secret:
            raise ValueError(f"secret: missing; set the environment variable "
                             f"{self.secret_env} (named by secret_env)")
        return self


def with_secrets(hooks: object, env: Mapping[str, str]) -> object:
    """``[[webhooks]]`` as read from TOML, each given its secret from the environment
    (which wins over the file); anything malformed is left for validation to report."""
    if not isinstance(hooks, list):
        return hooks
    out: list[Any] = []
    for hook in hooks:
        if isinstance(hook, dict):
            name = hook.get("secret_env", DEFAULT_SECRET_ENV)
            if isinstance(name, str) and env.get(name):
                hook = {**hook, "secret": env[name]}
        out.append(hook)
    return out


def one_per_url(hooks: list[WebhookConfig]) -> list[WebhookConfig]:
    """Each url once: a receiver is known by its url (its secret is looked up by it)."""
    seen: set[str] = set()
    for hook in hooks:
        if hook.url in seen:
            raise ValueError(f"url {hook.url!r} appears twice; list its events in one entry")
        seen.add(hook.url)
    return hooks
