"""Live updates: what a subscription hears of, and what it may be sent.

``db/live.py`` brings this process the committed domain events of the tenants its
subscribers follow, as ids. The fan-out (``fanout.py``) reads each one in one
snapshot of its tenant, checks the grants of every subscriber it concerns at once,
and asks each subscription's admission (``admission.py``), in a ``Context`` of the
subscriber's own principal, what the subscriber may be sent: nothing at all for a
row they may not see or a change their filter does not ask for. What is admitted is
rendered with the subscription's selection in that context and handed to its
connection (``web/live_socket.py``).
"""
