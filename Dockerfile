# Tessera: one process, SQLite and rendered images in the /app/data volume, model weights in
# /app/models, metrics and /healthz on port 9108.
#
# The local provider's torch comes from TORCH_INDEX: the CPU build by default (about 1 GB
# smaller); docker-compose's "gpu" profile builds with a CUDA index instead.
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# postgres: asyncpg, for TESSERA_DATABASE__URL=postgresql://... (compose's "scale" profile).
ARG EXTRAS=local,postgres

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# A fixed, unprivileged uid so the volumes' ownership is predictable on the host.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin tessera

# Dependencies first, from pyproject.toml alone: a code change does not reinstall them.
COPY pyproject.toml ./
RUN python - > /tmp/requirements.txt <<'PY'
import os, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
extras = [name for name in os.environ.get("EXTRAS", "").split(",") if name]
wanted = project["dependencies"] + [d for e in extras for d in project["optional-dependencies"][e]]
print("\n".join(wanted))
PY
RUN if grep -q '^torch' /tmp/requirements.txt; then \
        pip install --index-url "$TORCH_INDEX" torch; \
    fi \
    && pip install -r /tmp/requirements.txt

COPY README.md LICENSE ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install --no-deps . \
    && mkdir -p /app/data /app/models /app/config \
    && chown tessera:tessera /app/data /app/models
COPY config/tessera.example.toml ./config/

# Container defaults: absolute paths in the volumes, JSON logs for collectors, and the
# metrics/health endpoint on all interfaces so the health check and Prometheus reach it.
ENV TESSERA_DATABASE__URL=sqlite:////app/data/tessera.db \
    TESSERA_DIFFUSION__RESULTS_DIR=/app/data/results \
    HF_HOME=/app/models \
    TESSERA_LOGGING__JSON_FORMAT=true \
    TESSERA_METRICS__ENABLED=true \
    TESSERA_METRICS__HOST=0.0.0.0 \
    TESSERA_METRICS__PORT=9108

USER tessera
VOLUME ["/app/data", "/app/models"]
EXPOSE 9108

# Healthy when the database answers and the bot is connected to Discord (GET /healthz).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "health"]

# exec form: the bot is PID 1 and receives SIGTERM from `docker stop`.
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
