"""Keeping taking part light: PAUSE/RESUME, per-person round and message limits, and
how long a flow takes ("about 3 minutes")."""
