"""The application for any WSGI server: ``gunicorn wsgi:app``. Configured by ``SCIM_*`` variables."""

from scim_server import create_app

app = create_app()
