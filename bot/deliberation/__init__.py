"""Deliberation (the Pol.is idea, over SMS): statements, votes, opinion groups."""
