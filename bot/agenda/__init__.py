"""Agenda-setting: participants suggest what to ask about; coordinators moderate."""
