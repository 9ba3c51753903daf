"""Operator tools that talk to a running Chairside API over HTTP."""
