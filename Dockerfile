# syntax=docker/dockerfile:1
# Build stage: resolve and install dependencies from the lock file into a virtualenv.
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY . .
RUN uv sync --locked --no-dev

# Runtime stage: only the virtualenv and the code, run as an unprivileged user.
FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 rigbook
WORKDIR /app
COPY --from=build --chown=rigbook:rigbook /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    RIGBOOK_ENV=production \
    RIGBOOK_DATABASE_URL=sqlite+aiosqlite:////app/data/rigbook.db \
    RIGBOOK_WORKER_HEARTBEAT_FILE=/tmp/rigbook-worker.alive
RUN mkdir -p /app/data && chown rigbook:rigbook /app/data
USER rigbook
EXPOSE 8000
# The server: /health/ready. A `rigbook worker` container: its heartbeat file (web/healthcheck.py).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -m web.healthcheck
# Production needs RIGBOOK_JWT_SECRET (>= 32 bytes); run `rigbook migrate` once per release.
# The server itself never needs the owner's URL (RIGBOOK_MIGRATION_DATABASE_URL): it does not inherit it.
# Background jobs: on SQLite (this default) the server runs them itself. On PostgreSQL in
# production it runs none (unless RIGBOOK_WORKER=inline): run workers from this same image,
#   docker run -e RIGBOOK_DATABASE_URL=postgresql+asyncpg://... -e RIGBOOK_JWT_SECRET=... IMAGE rigbook worker
# (no ENTRYPOINT, so the command replaces the CMD below), and stop them with more time than
# RIGBOOK_WORKER_SHUTDOWN_GRACE (20 s), e.g. `docker stop -t 30`: docker's default 10 s would
# kill a worker mid-job, whose jobs then wait for their lease (RIGBOOK_JOB_LEASE) to run again.
CMD ["sh", "-c", "rigbook migrate && exec env -u RIGBOOK_MIGRATION_DATABASE_URL rigbook serve --host 0.0.0.0 --port 8000 --workers ${RIGBOOK_WORKERS:-2}"]
