"""Configuration: ``config.toml`` (see ``config.example.toml``) plus environment secrets.

Every key has a safe built-in default, so ``parley demo`` and ``parley serve`` run with no
file at all. Secrets may come from the environment, which wins over the file, so they
never need to sit in a file in git. A bad value is reported as ``file:line: [section]
key: what is wrong``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.durations import parse_duration
from bot.errors import ConfigError
from bot.text.toml_positions import key_lines, line_for
from bot.webhook_config import WebhookConfig, one_per_url, with_secrets

ENV_SECRETS = {
    "PARLEY_TELEGRAM_TOKEN": ("telegram", "token"),
    "PARLEY_TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
    "PARLEY_TWILIO_ACCOUNT_SID": ("sms", "account_sid"),
    "PARLEY_TWILIO_AUTH_TOKEN": ("sms", "auth_token"),
    "PARLEY_STORE_URL": ("store", "url"),  # a PostgreSQL URL holds its password
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectConfig(_Section):
    name: str = "Parley"
    contact: str = "reply HELP and a person will get back to you"
    privacy_url: str = ""
    locales: Annotated[list[str], Field(min_length=1)] = ["en"]
    date_order: Literal["DMY", "MDY", "YMD"] = "DMY"
    flows_dir: str = ""
    templates_dir: str = ""


class StoreConfig(_Section):
    url: str = "sqlite:///parley.db"


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    public_url: str = ""
    max_body_bytes: Annotated[int, Field(ge=1024)] = 256 * 1024
    # proxies whose X-Forwarded-For/-Proto are believed; none: the TCP peer is the client
    trusted_proxies: list[str] = []
    read_timeout: Annotated[float, Field(gt=0)] = 30.0  # seconds between body pieces
    health_max_send_lag: str = "5m"
    """/healthz is 503 when the oldest due outbox row is overdue by more than this."""

    @field_validator("health_max_send_lag")
    @classmethod
    def _lag(cls, value: str) -> str:
        parse_duration(value)  # ValueError names the accepted form
        return value


class TelegramConfig(_Section):
    token: str = ""
    webhook_secret: str = ""
    api_base_url: str = ""
    mode: Literal["webhook", "polling"] = "webhook"
    rate_limit_per_second: Annotated[float, Field(gt=0)] = 30
    per_chat_per_second: Annotated[float, Field(gt=0)] = 1
    per_chat_burst: Annotated[int, Field(ge=1, le=10)] = 3
    """Messages a chat may get back to back (Telegram tolerates short bursts)."""
    request_timeout: Annotated[float, Field(gt=0)] = 10
    ambiguous: Literal["resend_once", "never"] = "resend_once"
    """A send whose request was written but never answered: resent once (a duplicate is
    a nuisance, a lost question stalls a person) or never (strict at-most-once)."""

    @property
    def enabled(self) -> bool:
        return bool(self.token)


class SmsConfig(_Section):
    account_sid: str = ""
    auth_token: str = ""
    from_number: str = ""
    api_base_url: str = ""
    default_region: str = "GB"
    rate_limit_per_second: Annotated[float, Field(gt=0)] = 1
    provider_handles_opt_out: bool = False
    validity_period: Annotated[int, Field(ge=1, le=36000)] = 14400
    request_timeout: Annotated[float, Field(gt=0)] = 15
    segment_price: Annotated[float, Field(ge=0)] = 0.04
    """What one SMS segment costs, for ``rounds create --dry-run`` estimates."""

    @property
    def enabled(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.from_number)


class WhatsAppConfig(_Section):
    """WhatsApp over Twilio: the account, auth token and ``api_base_url`` are ``[sms]``'s."""

    from_number: str = ""
    rate_limit_per_second: Annotated[float, Field(gt=0)] = 20
    templates: dict[str, str] = {}
    """Template key (``"ons4.invite"``) → approved Content SID (``HX…``), for messages
    sent outside the 24-hour window."""
    choice_templates: dict[str, str] = {}
    """``quick_reply_2``, ``quick_reply_3`` (buttons) and ``list_4`` … ``list_10`` (list
    pickers) → Content SID, for native choices inside the window (else numbered text)."""
    window_hours: Annotated[float, Field(gt=0, le=24)] = 24

    def enabled_with(self, sms: SmsConfig) -> bool:
        return bool(sms.account_sid and sms.auth_token and self.from_number)


class MediaConfig(_Section):
    """Photos, voice notes and other files people send as answers."""

    folder: str = "media"
    max_bytes: Annotated[int, Field(ge=1024)] = 16 * 1024 * 1024
    allowed_types: list[str] = ["audio/", "image/", "video/", "application/pdf"]


class ScheduleConfig(_Section):
    timezone: str = "Europe/London"
    quiet_hours: str = "21:00-09:00"
    nudge_merge_window: str = "6h"
    """A round reminder within this of the flow's own timeout is skipped (one nudge)."""
    leader_lease: str = "30s"
    """Several processes on one PostgreSQL database: the scheduler runs in the one holding
    this lease; when it dies another takes over within about this long."""

    @field_validator("nudge_merge_window", "leader_lease")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}' (e.g. Europe/London)") from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        if value and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"'{value}' should look like \"21:00-09:00\" (or \"\" for none)")
        return value


class EnrolmentConfig(_Section):
    mode: Literal["open", "invite"] = "open"
    pathway: list[str] = ["language", "consent", "onboarding"]


class CreditRule(_Section):
    flow: str
    amount: Annotated[float, Field(ge=0)]


class HourRule(_Section):
    """Time-bank hours for completing a flow (``[[credits.hour_rules]]``)."""

    flow: str
    hours: Annotated[float, Field(gt=0, le=100)]


class CreditsConfig(_Section):
    unit: str = "£"
    value_per_credit: Annotated[float, Field(ge=0)] = 1.0
    rules: list[CreditRule] = []
    cap_per_month: Annotated[float, Field(ge=0)] | None = None
    time_bank: bool = False
    """Hours as a second currency: earned by rules and events, spent on offers."""
    hour_rules: list[HourRule] = []


class BurdenConfig(_Section):
    """Per-person limits on how much a project asks (``bot/burden``); None = no limit."""

    max_messages_per_week: Annotated[int, Field(ge=1)] | None = None
    max_rounds_per_month: Annotated[int, Field(ge=1)] | None = None
    max_pause_weeks: Annotated[int, Field(ge=1, le=52)] = 12


class RepresentationConfig(_Section):
    """Target mixes of responders, per profile dimension (``cohort``, ``locale``,
    ``channel`` or any profile field such as ``age_band``): value -> percent."""

    tolerance: Annotated[float, Field(ge=0, le=50)] = 5.0
    targets: dict[str, dict[str, Annotated[float, Field(ge=0, le=100)]]] = {}


class CoordinatorsConfig(_Section):
    telegram_ids: list[int] = []
    phones: list[str] = []


class SafeguardingConfig(_Section):
    phrases: list[str] = [
        "suicide", "kill myself", "end it all", "self harm", "hurt myself",
        "no way out", "can't go on", "cannot go on", "want to die",
    ]
    signpost: str = "system.signpost"
    escalate_after: str = "2h"
    """Unacknowledged this long, a flagged message goes to ``escalate_to``."""
    escalate_to: list[str] = []
    """Phone numbers (E.164) told when nobody has acknowledged in time."""

    @field_validator("escalate_after")
    @classmethod
    def _after(cls, value: str) -> str:
        try:
            parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"'{value}' should be a duration like \"2h\" or \"30m\"") from exc
        return value


class RetentionConfig(_Section):
    days: Annotated[int, Field(ge=1)] = 365


class Config(_Section):
    project: ProjectConfig = ProjectConfig()
    store: StoreConfig = StoreConfig()
    server: ServerConfig = ServerConfig()
    telegram: TelegramConfig = TelegramConfig()
    sms: SmsConfig = SmsConfig()
    whatsapp: WhatsAppConfig = WhatsAppConfig()
    media: MediaConfig = MediaConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    enrolment: EnrolmentConfig = EnrolmentConfig()
    credits: CreditsConfig = CreditsConfig()
    coordinators: CoordinatorsConfig = CoordinatorsConfig()
    safeguarding: SafeguardingConfig = SafeguardingConfig()
    retention: RetentionConfig = RetentionConfig()
    burden: BurdenConfig = BurdenConfig()
    representation: RepresentationConfig = RepresentationConfig()
    webhooks: list[WebhookConfig] = []
    source: str = "<built-in defaults>"

    _webhooks = field_validator("webhooks")(one_per_url)

    def project_data(self) -> dict[str, str]:
        """What templates may say about the project."""
        return {
            "name": self.project.name,
            "contact": self.project.contact,
            "privacy_url": self.project.privacy_url,
            "retention_days": str(self.retention.days),
        }

    def base_dir(self) -> Path:
        return Path(self.source).parent if self.source != "<built-in defaults>" else Path.cwd()

    def media_path(self) -> Path:
        folder = Path(self.media.folder)
        return folder if folder.is_absolute() else self.base_dir() / folder

    def flows_path(self) -> Path:
        return _resource(self, self.project.flows_dir, "flows")

    def templates_path(self) -> Path:
        return _resource(self, self.project.templates_dir, "templates")


def _resource(config: Config, configured: str, name: str) -> Path:
    """A configured folder, else ``./<name>``, else the one shipped beside the package."""
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else config.base_dir() / path
    local = config.base_dir() / name
    if local.is_dir():
        return local
    return Path(__file__).resolve().parent.parent / name


def _format(err: Mapping[str, Any], lines: dict[tuple[str | int, ...], int], file: str) -> str:
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    line = line_for(lines, loc)
    where = f"[{loc[0]}] {'.'.join(str(p) for p in loc[1:])}" if len(loc) > 1 else f"{loc[0]}"
    kind = err["type"]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        msg = "unknown key (see config.example.toml for the keys Parley reads)"
    return f"{file}:{line}: {where}: {msg}"


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load ``path`` (default ``./config.toml`` if present) with environment overrides."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    lines: dict[tuple[str | int, ...], int] = {}
    file = "<built-in defaults>"
    candidate = Path(path) if path is not None else Path("config.toml")
    if path is not None and not candidate.is_file():
        raise ConfigError(f"{candidate}: config file not found")
    if candidate.is_file():
        file = str(candidate)
        text = candidate.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: TOML syntax: {exc}") from exc
        lines = key_lines(text)
    for var, (section, key) in ENV_SECRETS.items():
        if env.get(var):
            data.setdefault(section, {})[key] = env[var]
    if "webhooks" in data:
        data["webhooks"] = with_secrets(data["webhooks"], env)
    data["source"] = file
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(_format(e, lines, file) for e in exc.errors())) from exc
