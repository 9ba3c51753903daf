"""Use cases: one module per thing a client or a worker asks of Chairside."""
