"""A tenant's data as one ZIP: the allow-listed columns of its tables, read in one snapshot.

``tables.py`` names what leaves (and so what never does), ``formats.py`` writes rows
as ndjson, CSV or JSON, ``writer.py`` pages through one snapshot into the archive,
and ``requests.py`` is the admins' way to it: a request, a job, a stored archive and
a mailed, signed link.
"""
