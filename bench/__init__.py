"""Rigbook's benchmark harness (issue #6): seed a PostgreSQL database, run a lean
baseline and ``rigbook serve`` side by side under ``wrk``, and compare them.

``python -m bench seed ...`` and ``python -m bench run ...``; see ``bench/README.md``.
"""
