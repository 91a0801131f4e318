# One image for every role: worker, beat, migrate, api. No configuration is baked in: mount
# ./config (docker-compose.yml does), so the watch list never reaches the image or a registry.
# Build stage: install rightswatch, the Apprise channel and backup encryption into a virtualenv.
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, from pyproject.toml alone (a stub package), so that an upgrade that only
# changes the code reuses this layer and builds in seconds.
COPY pyproject.toml README.md ./
RUN mkdir -p worker alembic && cp pyproject.toml alembic/ \
    && echo '__version__ = "0"' > worker/__init__.py \
    && /opt/venv/bin/pip install '.[apprise,backup]' \
    && /opt/venv/bin/pip uninstall -y rightswatch && rm -rf worker alembic
COPY alembic.ini ./
COPY alembic ./alembic
COPY worker ./worker
RUN /opt/venv/bin/pip install --no-deps .

# Final stage: the virtualenv only, run as an unprivileged user with a fixed uid (10001), so a
# config made `chmod 600` on the host can be given to it with `chown 10001`.
FROM python:3.12-slim
RUN useradd --system --uid 10001 --create-home --home-dir /app rightswatch \
    && mkdir -p /app/data /app/config \
    && chown -R rightswatch:rightswatch /app/data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RIGHTSWATCH_DATA_DIR=/app/data \
    RIGHTSWATCH_CONFIG=/app/config/rightswatch.yaml
WORKDIR /app
USER rightswatch
ENTRYPOINT ["rightswatch"]
CMD ["run"]
