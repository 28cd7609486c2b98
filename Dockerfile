# Reframe: one image, three roles chosen by the command.
#   docker run IMAGE                            all-in-one: web + scheduler (python app.py);
#                                               with SLACK_APP_TOKEN, Socket Mode (health on $PORT)
#   docker run IMAGE python -m bot web          gunicorn web workers, no scheduler
#   docker run IMAGE python -m bot scheduler    the jobs loop, /healthz on $PORT
# Every role runs the Alembic migrations itself before it starts.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
# The detector reads WordLlama's tokenizer from its wheel without importing the package,
# so its dependencies (numpy, tokenizers, huggingface-hub) stay out of the image.
RUN pip install . && pip install --no-deps wordllama==0.4.0.post1

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
CMD ["python", "app.py"]
