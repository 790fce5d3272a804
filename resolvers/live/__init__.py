"""Live updates: what a subscription hears of, and what it may be sent.

``db/live.py`` brings this process the committed domain events of the tenants its
subscribers follow, as ids. Each subscription keeps the ones it asked for in a
bounded ``Inbox``; for each, ``deliveries`` opens a new ``Context`` under the
subscriber's own principal (a new read transaction, its session check, its
loaders) and asks the subscription's admission (``admission.py``) what the
subscriber may be sent: nothing at all for a row they may not see or a change their
filter does not ask for. The transport (``web/live_socket.py``) renders each root
under that context and sends it.
"""
