"""Bookings from online booking tools (Cal.com, Calendly, Square, Acuity, Typeform, any form tool): one adapter
module per tool verifies its signature over the raw bytes and turns its payload into a `BookingEvent`; the
intake service applies events to appointments idempotently and in the tool's own order."""
