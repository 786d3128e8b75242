# orderdesk in a container: `docker build -t orderdesk .` (or `podman build`), then see
# compose.yaml and docs/deploy.md for running it against PostgreSQL and Redis.
#
# Two stages: the build stage turns the source tree into a wheel and installs it with its
# dependencies into /opt/venv; the runtime stage copies only that virtual environment, so no
# source tree, build tool or pip cache ends up in the image that runs. Both stages start from
# the same base, so the venv's interpreter path is valid in both.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# Everything `pip wheel .` reads (pyproject names README.md as the long description).
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install /wheels/orderdesk-*.whl


FROM ${PYTHON_IMAGE} AS runtime
# Logs reach the container runtime as they are written; no .pyc files on a read-only layer.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    ORDERDESK_MEDIA_DIR=/var/lib/orderdesk/media
# A fixed, unprivileged uid/gid, so that a volume or a bind mount can be chowned to it ahead.
RUN groupadd --system --gid 10001 orderdesk \
    && useradd --system --uid 10001 --gid orderdesk --home-dir /var/lib/orderdesk \
        --shell /usr/sbin/nologin orderdesk \
    && mkdir -p /var/lib/orderdesk/media \
    && chown -R orderdesk:orderdesk /var/lib/orderdesk
COPY --from=build /opt/venv /opt/venv
USER orderdesk
WORKDIR /var/lib/orderdesk
# Uploaded images live here; without a volume (or S3) they would die with the container.
VOLUME ["/var/lib/orderdesk/media"]
EXPOSE 8000
# Liveness only: /health answers while the process serves. /ready (database and media store
# usable) is for the load balancer, which should stop routing without restarting anything.
# The image has no curl; the interpreter it already carries does the request.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]
# `serve` finishes requests in flight for up to 30 s after SIGTERM; give it that long
# (docker stop -t 40, compose stop_grace_period) before the runtime sends SIGKILL.
STOPSIGNAL SIGTERM
ENTRYPOINT ["orderdesk"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
