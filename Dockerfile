# Bridges bot image: long polling by default; migrations run at start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY dialogs ./dialogs
COPY prompts ./prompts
COPY storage ./storage
RUN pip install '.[postgres]' && useradd --create-home bridges
USER bridges

CMD ["bridges", "run"]
