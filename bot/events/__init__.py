"""Events (workshops, working groups): invitations by round, RSVP with a waiting list,
a reminder the day before, and attendance by a code word said during the event."""
