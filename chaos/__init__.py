"""`make chaos`: a fault-injection soak of the local stack, checked against an independent model of what
should have been sent (see docs/RELIABILITY.md)."""
