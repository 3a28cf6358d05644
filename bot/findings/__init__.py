"""Findings: versioned drafts that participants endorse, amend or reject."""
