"""The SQS workers' record handlers, one module per queue; functions/*.py hand each record to one of them.

steps       the steps queue: one journey step → one delivery (services/delivery.py), backoff on failures
inbound     the inbound queue: a stored message to understand, or a two-way SMS (conversations/intake.py)
care        the care queue: a care message (care/outreach.py) or one page of a campaign's fan-out
care_tick   the care-ticks queue: a store's daily tick (care/always_on.py) queues who is due care

batches.counted_batch runs the batch of a worker whose messages count in the owner's reports (steps, care, email
events), with those counts summed and written once per store-day.
"""
