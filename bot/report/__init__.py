"""The evaluation report (``parley report``): what a project did, with whom, what
changed and what it cost, as self-contained HTML or a PDF. Numbers come from the same
functions the dashboard and ``rounds status`` use, so they agree."""
