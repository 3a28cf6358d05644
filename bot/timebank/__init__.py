"""The time bank: hours as a second currency beside money credits (``[credits]
time_bank = true``). Hours are earned by completing flows (``[[credits.hour_rules]]``)
and attending events, and spent on offers the project lists; a coordinator confirms
each SPEND. The hour ledger is append-only, like the money ledger."""
