"""Benchmarks of the SCIM server against a "ceiling" app under the same gunicorn settings (``make bench``)."""
