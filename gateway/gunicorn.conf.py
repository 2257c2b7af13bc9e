"""gunicorn settings for the gateway, read from the environment (GATEWAY_*)."""

import os
import tempfile

bind = os.environ.get("GATEWAY_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
# gthread, with listening sockets handed over at once on SIGTERM (see crm_gateway.worker)
worker_class = os.environ.get("GATEWAY_WORKER_CLASS", "crm_gateway.worker.ThreadWorker")
threads = int(os.environ.get("GATEWAY_THREADS", "8"))
timeout = int(os.environ.get("GATEWAY_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GATEWAY_GRACEFUL_TIMEOUT", "10"))
keepalive = 5
accesslog = None  # the app writes its own JSON access log
errorlog = "-"
reuse_port = True  # a new gateway can start beside the old one during a rolling restart
preload_app = False  # gRPC channels must be created after fork, in each worker
wsgi_app = "crm_gateway.wsgi:app"

# Metrics of every worker, aggregated at /metrics.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="crm-gateway-metrics-"))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
