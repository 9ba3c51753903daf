"""Operator commands, run from a checkout: `python -m ops.<command>` (some talk to a running API over HTTP)."""
