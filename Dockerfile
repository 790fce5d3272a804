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
    RIGBOOK_DATABASE_URL=sqlite+aiosqlite:////app/data/rigbook.db
RUN mkdir -p /app/data && chown rigbook:rigbook /app/data
USER rigbook
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status == 200 else 1)"
# Production needs RIGBOOK_JWT_SECRET (>= 32 bytes); run `rigbook migrate` once per release.
# The server itself never needs the owner's URL (RIGBOOK_MIGRATION_DATABASE_URL): it does not inherit it.
CMD ["sh", "-c", "rigbook migrate && exec env -u RIGBOOK_MIGRATION_DATABASE_URL rigbook serve --host 0.0.0.0 --port 8000 --workers ${RIGBOOK_WORKERS:-2}"]
