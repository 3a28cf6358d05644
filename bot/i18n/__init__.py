"""Message templates per locale."""
