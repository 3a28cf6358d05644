"""Every error Parley raises on purpose.

    ParleyError
     ├── ConfigError          a config file or environment value is wrong (says which key)
     ├── FlowError            a flow file is wrong (carries file:line: message problems)
     ├── TemplateError        a message template is missing or does not render
     ├── StoreError           the database is unusable (locked, full, wrong schema)
     │    └── AlreadyProcessed  an inbox row's effects were stored before (nothing written)
     ├── ImportRowError       a CSV row could not be imported (file:line)
     └── ChannelError         a provider refused or failed a send
          ├── RateLimited     the provider asked us to wait ``retry_after`` seconds
          ├── Unreachable     the address cannot be messaged (blocked, opted out, bad number)
          ├── TransientError  worth retrying later (5xx, connection refused)
          ├── AmbiguousSend   the request was written but no answer came: it may have gone out
          └── Rejected        the provider refused this message for good (a bad request)

Problems in a flow's *content* that only show at run time (an expression over a field
that was skipped, say) become error events in the engine, not exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass


class ParleyError(Exception):
    """Root of every error Parley raises deliberately."""


class ConfigError(ParleyError):
    """A configuration value is missing or invalid; the message names the key."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file, pointing at the line a person must edit."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FlowError(ParleyError):
    """A flow file failed to load or validate."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class TemplateError(ParleyError):
    """A template key is missing in every usable locale, or fails to render."""


class StoreError(ParleyError):
    """The store cannot be read or written."""


class AlreadyProcessed(StoreError):
    """A unit of work tried to finish an inbox row that is no longer pending: the message
    was processed before, so the whole unit was rolled back rather than applied twice."""

    def __init__(self, inbox_id: int) -> None:
        self.inbox_id = inbox_id
        super().__init__(f"inbox message {inbox_id} was already processed")


class ImportRowError(ParleyError):
    """A row of an imported file is invalid; nothing from the file was kept."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ChannelError(ParleyError):
    """A channel could not deliver a message."""


class RateLimited(ChannelError):
    """The provider asked us to slow down."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        self.retry_after = retry_after
        super().__init__(f"rate limited, retry after {retry_after}s {detail}".strip())


class Unreachable(ChannelError):
    """The address cannot be messaged any more (blocked the bot, opted out, bad number)."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason)


class TransientError(ChannelError):
    """A failure worth retrying with back-off."""


class AmbiguousSend(ChannelError):
    """The request was sent but no answer came back; the message may have been delivered."""


class Rejected(ChannelError):
    """The provider refused this one message permanently (Telegram 400 Bad Request: too
    long, empty, malformed buttons). Sending it again would fail the same way."""
