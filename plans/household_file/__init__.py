"""The household file (SPEC §3 ``import_household``): its schema and its report.

Applying it is a service: ``plans.services.import_household``.
"""
