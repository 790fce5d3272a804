"""Monthly reports: what a tenant's month held, computed once per month and kept.

``months`` names a month and its bounds in the tenant's time zone, ``content`` is
the report's sections (stored as JSON), ``compute`` reads one tenant's month in
pages and works them out, ``store`` writes a report once (audited, so its creation
announces ``report.created``) and reads reports for managers and admins, and
``csv_export`` writes a report as CSV.
"""
