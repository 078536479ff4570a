"""Tickets: the record a call becomes, its state machine, history and agent review."""
