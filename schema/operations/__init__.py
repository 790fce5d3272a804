"""The root fields of ``Query`` and ``Mutation``, one module per domain (``schema/schema.py`` joins them)."""
