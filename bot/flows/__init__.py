"""Flows as data: pydantic models, the TOML loader with line numbers, migrations, validation."""
