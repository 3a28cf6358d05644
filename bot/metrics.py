"""Counters and gauges in the Prometheus text format, names prefixed ``parley_``.

A few dozen series do not justify a client library; this keeps ``/metrics`` dependency
free and the names documented in one place.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

LabelSet = tuple[tuple[str, str], ...]

HELP = {
    "parley_inbound_total": "Inbound messages accepted (stored), by channel",
    "parley_inbound_duplicates_total": "Inbound messages already received (deduplicated)",
    "parley_inbound_rejected_total": "Inbound requests refused, by channel and reason",
    "parley_inbound_ignored_total": "Inbound updates acknowledged but not acted on "
                                    "(edits, group chatter), by channel",
    "parley_inbound_processed_total": "Inbound messages processed, by channel and result",
    "parley_outbound_total": "Outbound send outcomes, by channel and outcome",
    "parley_outbound_attempts_total": "Outbound send attempts, by channel",
    "parley_sms_segments_total": "SMS segments accepted by the provider",
    "parley_delivery_status_total": "Provider delivery status callbacks, by status",
    "parley_sms_ambiguous_total": "Unanswered SMS sends looked up at Twilio, by resolution",
    "parley_sms_inbound_segments_total": "SMS segments received (Twilio bills these too)",
    "parley_outbox_pending": "Outbox rows waiting to be sent, by channel",
    "parley_store_up": "1 when the store can be read and written",
    "parley_login_checks_total": "Dashboard password checks performed",
    "parley_login_refused_total": "Dashboard logins refused before a password check, by "
                                  "reason (limited, busy)",
    "parley_task_restarts_total": "Background tasks restarted after an error, by task",
    "parley_outbound_resent_total": "Ambiguous sends resent once, by channel",
    "parley_scheduler_leader": "1 when this process runs the scheduler (several processes "
                               "on one database: exactly one should)",
    "parley_processes": "Processes sharing the database and its send rates (this one's view)",
}


class Metrics:
    def __init__(self) -> None:
        self._counters: defaultdict[tuple[str, LabelSet], float] = defaultdict(float)
        self._gauges: dict[str, Callable[[], dict[LabelSet, float]]] = {}

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        self._counters[(name, tuple(sorted(labels.items())))] += amount

    def value(self, name: str, **labels: str) -> float:
        return self._counters.get((name, tuple(sorted(labels.items()))), 0.0)

    def gauge(self, name: str, read: Callable[[], dict[LabelSet, float]]) -> None:
        self._gauges[name] = read

    def render(self, extra: dict[str, dict[LabelSet, float]] | None = None) -> str:
        series: defaultdict[str, list[tuple[LabelSet, float]]] = defaultdict(list)
        for (name, labels), value in sorted(self._counters.items()):
            series[name].append((labels, value))
        gauges = dict(extra or {})
        for name, read in self._gauges.items():
            gauges[name] = read()
        lines: list[str] = []
        for name in sorted(set(series) | set(gauges)):
            kind = "gauge" if name in gauges else "counter"
            lines.append(f"# HELP {name} {HELP.get(name, name)}")
            lines.append(f"# TYPE {name} {kind}")
            rows = series.get(name, []) + list(gauges.get(name, {}).items())
            for labels, value in rows:
                label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                number = int(value) if float(value).is_integer() else value
                lines.append(f"{name}{{{label_text}}} {number}" if label_text
                             else f"{name} {number}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
