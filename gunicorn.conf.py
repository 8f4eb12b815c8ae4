"""gunicorn's production settings: `gunicorn -c gunicorn.conf.py` from the repository root.

Flags on the command line win over these (`--bind 127.0.0.1:8000`, `--workers 4`). The request
limits below are enforced by gunicorn before the app sees a request, so their answers are
gunicorn's own small HTML pages, not the API's JSON error shape (see README, "Production").
"""

import os

wsgi_app = "app:app"
bind = ["0.0.0.0:5000"]

# One process per core: scoring is CPU-bound Python. The threads are for the comments that arrive
# together: a worker submits those as one group (one transaction, one verdict batch; see
# moderation/workflow/grouping.py), so the more requests a worker holds at once, the less each one
# costs. On 2 cores, 16 threads a worker sustained 1.1-1.5 times the comments/s of 4 (README,
# "Performance"); the threads also serve keep-alive connections and slow clients.
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
worker_class = "gthread"
threads = 16

# A worker that stops answering its arbiter for `timeout` seconds is replaced; on a restart,
# requests in flight get `graceful_timeout` seconds to finish. Idle keep-alive connections close
# after `keepalive` seconds (the proxy in front reconnects at will).
timeout = 30
graceful_timeout = 30
keepalive = 5

# Request limits, answered by gunicorn itself:
#   request line (method, path, query, version) over 4094 bytes -> 414
#     (the longest id, 200 characters, percent-encoded as 4-byte UTF-8, is 2,400 bytes)
#   more than 50 header fields, or one over 8190 bytes          -> 431
# Bodies are limited by the app (MAX_REQUEST_BYTES -> 413 in JSON, chunked or not).
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# gunicorn's control socket (one fixed path per user) is not used; several instances on one host
# would otherwise take it over from each other.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
