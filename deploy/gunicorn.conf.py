"""gunicorn for Alcabala behind nginx: `gunicorn -c deploy/gunicorn.conf.py config.wsgi:application`."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests mostly wait on PostgreSQL and Redis: two workers a core, plus one, is the usual start.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then, staggered, so a slow leak never takes the site down.
max_requests = 2000
max_requests_jitter = 200
# Only nginx on this machine may set X-Forwarded-* (the app reads them through TRUSTED_PROXIES too).
forwarded_allow_ips = "127.0.0.1"
# The access log never holds a client address (architecture §6.1): no %(h)s, no X-Forwarded-For.
accesslog = "-"
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
loglevel = "info"
control_socket_disable = True
