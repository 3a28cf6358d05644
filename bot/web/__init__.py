"""The Starlette web app: webhooks, health, metrics (and later the dashboard)."""
