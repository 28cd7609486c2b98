# Reframe: one image, three roles chosen by the command.
#   docker run IMAGE                            the web role (the default): gunicorn web
#                                               workers, no scheduler; run one scheduler too
#   docker run IMAGE python -m bot scheduler    the jobs loop, /healthz on $PORT
#   docker run IMAGE python app.py              all-in-one: web + scheduler in one process
#                                               (development, small single-process installs;
#                                               with SLACK_APP_TOKEN, Socket Mode)
# Every role runs the Alembic migrations itself before it starts.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# The locked runtime dependencies, each at one version and checked against its hashes;
# a layer of its own, so a code change does not reinstall them.
COPY requirements/runtime.txt ./requirements/
RUN pip install --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY bot ./bot
# Reframe itself adds nothing unlocked (--no-deps; setuptools is pinned in pyproject.toml).
# The detector reads WordLlama's tokenizer from its wheel without importing the package,
# so its dependencies (numpy, tokenizers, huggingface-hub) stay out of the image.
RUN pip install --no-deps . && pip install --no-deps wordllama==0.4.0.post1

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000 \
    LOG_FORMAT=json \
    REFRAME_MIGRATIONS_DIR=/app/migrations \
    DATABASE_URL=sqlite:////app/data/reframe.db
RUN useradd --create-home --uid 10001 reframe \
    && mkdir -p /app/data && chown reframe /app/data
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY migrations ./migrations
COPY app.py ./
USER reframe
VOLUME /app/data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
CMD ["python", "-m", "bot", "web"]
