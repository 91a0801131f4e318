# One image for every role: worker, beat, migrate, api. No configuration is baked in: mount
# ./config (docker-compose.yml does), so the watch list never reaches the image or a registry.

# Dependencies (the Apprise channel and backup encryption included), from pyproject.toml alone
# with a stub package: an upgrade that only changes the code reuses this layer.
FROM python:3.12-slim AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml ./
RUN mkdir -p worker alembic && touch README.md alembic/env.py \
    && echo '__version__ = "0"' > worker/__init__.py \
    && /opt/venv/bin/pip install '.[apprise,backup]' \
    && /opt/venv/bin/pip uninstall -y rightswatch

# rightswatch itself, as a wheel.
FROM deps AS wheel
COPY README.md alembic.ini ./
COPY alembic ./alembic
COPY worker ./worker
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /dist .

# Final stage: the dependencies' virtualenv (a cached layer) plus the wheel, run as an
# unprivileged user with a fixed uid (10001), so that a config made `chmod 600` on the host
# can be given to it with `chown 10001`.
FROM python:3.12-slim
RUN useradd --system --uid 10001 --create-home --home-dir /app rightswatch \
    && mkdir -p /app/data /app/config \
    && chown -R rightswatch:rightswatch /app/data
COPY --from=deps /opt/venv /opt/venv
COPY --from=wheel /dist /dist
RUN PIP_NO_CACHE_DIR=1 /opt/venv/bin/pip install --no-deps --disable-pip-version-check /dist/*.whl \
    && rm -rf /dist
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RIGHTSWATCH_DATA_DIR=/app/data \
    RIGHTSWATCH_CONFIG=/app/config/rightswatch.yaml
WORKDIR /app
USER rightswatch
ENTRYPOINT ["rightswatch"]
CMD ["run"]
