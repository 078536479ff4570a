"""Dispatch and parts binding: which technician goes and what they carry."""
