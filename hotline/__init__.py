"""The composition root: the app, the command line and the registry that wires the domains."""
