"""Time: quiet hours, local send times, and the one APScheduler that wakes ``due(now)``."""
