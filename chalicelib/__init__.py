"""Chairside's domain, shared by the Chalice API and the `functions/` workers."""
