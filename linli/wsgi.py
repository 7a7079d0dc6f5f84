"""WSGI entry point for production servers (``linli serve``): Django behind the fast path."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
django_application = get_wsgi_application()

from django.conf import settings  # noqa: E402

from linli.fastpath import FastPath  # noqa: E402 - needs Django set up

application = FastPath(django_application) if settings.LINLI_FASTPATH else django_application
