"""Intake doors: typed text today; audio, live calls, Excel and chat exports build on it."""
