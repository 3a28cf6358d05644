"""Coding free-text answers with themes, and knowing when new responses stop bringing
new themes (saturation)."""
