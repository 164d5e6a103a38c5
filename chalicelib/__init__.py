"""CareCue: appointment and medication reminders for small clinics (the Lambda package)."""
