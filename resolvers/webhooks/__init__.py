"""Signed webhooks: endpoints a tenant's admins register, and what is sent to them.

``endpoints`` manages the endpoints, ``targets`` decides where a webhook may go,
``payloads`` writes what a domain event sends and ``sending`` sends one attempt.
The fan-out and the delivery job are in ``resolvers/jobs/webhooks.py``.
"""
