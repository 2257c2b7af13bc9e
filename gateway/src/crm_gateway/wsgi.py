"""WSGI entry point for gunicorn: `crm_gateway.wsgi:app`."""

from crm_gateway.app import create_app

app = create_app()
