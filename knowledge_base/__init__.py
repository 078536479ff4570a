"""Fault knowledge base: entries with a draft → published life cycle, and the hybrid index."""
