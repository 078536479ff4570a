"""SLA engine: response evidence, business calendars, escalation."""
