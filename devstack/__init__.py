"""The local stack: Chairside's AWS resources on moto's server, plus the event plumbing moto lacks.

`provision` creates the tables, queues, schedule group and scheduler role from `chalicelib.resources`;
`plumbing` fires due EventBridge Scheduler schedules into their SQS targets and polls the worker queues
into the `functions/` handlers with real-shaped SQS events (moto stores schedules but never fires them,
and cannot run Lambdas).
"""
