"""The local stack: Chairside's AWS resources on moto's server, plus the event plumbing moto lacks.

`provision` creates the tables, queues, schedule group and scheduler role from `chalicelib.resources`;
`scheduler` fires due EventBridge Scheduler schedules into their SQS targets and `event_sources` polls the
worker queues into the `functions/` handlers with real-shaped SQS events (moto stores schedules but never
fires them, and cannot run Lambdas); `plumbing` ticks both in a loop.
"""
