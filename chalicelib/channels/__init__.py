"""Channel adapters: one per way of reaching a member. Each raises TransientSendError or
PermanentSendError so the delivery service can retry, fall back or dead-letter."""
