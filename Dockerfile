# Tessera: one process, SQLite in the /app/data volume, metrics and /healthz on port 9108.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# A fixed, unprivileged uid so the data volume's ownership is predictable on the host.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin tessera

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install . \
    && mkdir -p /app/data /app/config \
    && chown tessera:tessera /app/data
COPY config/tessera.example.toml ./config/

# Container defaults: an absolute database path in the volume, JSON logs for collectors,
# and the metrics/health endpoint on all interfaces so the health check and Prometheus reach it.
ENV TESSERA_DATABASE__URL=sqlite:////app/data/tessera.db \
    TESSERA_LOGGING__JSON_FORMAT=true \
    TESSERA_METRICS__ENABLED=true \
    TESSERA_METRICS__HOST=0.0.0.0 \
    TESSERA_METRICS__PORT=9108

USER tessera
VOLUME ["/app/data"]
EXPOSE 9108

# Healthy when the database answers and the bot is connected to Discord (GET /healthz).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "health"]

# exec form: the bot is PID 1's child-free process and receives SIGTERM from `docker stop`.
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
