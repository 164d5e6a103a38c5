"""The clinic's inbox: a patient's free-text reply, on any channel, as a thread the staff read and answer
(`docs/inbox.md`)."""
