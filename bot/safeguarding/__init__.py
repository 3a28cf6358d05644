"""Safeguarding and the coordinators' inbox: what needs a human, and who is told.

- ``phrases``: does a message contain a configured distress phrase;
- ``notes``: the hook conversations call to record that a message needs a person;
- ``alerts``: the words of the alerts (Telegram with the text, SMS without it);
- ``desk``: turning those records into inbox items and alerts, acknowledgement,
  escalation when nobody acknowledges, replies from the dashboard, marking done.
"""
