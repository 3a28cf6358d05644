"""The bearer-token JSON API at ``/api/v1`` (see ``routes``)."""
