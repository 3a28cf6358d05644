"""Participatory budgeting: projects with costs, votes within a total, and counting."""
