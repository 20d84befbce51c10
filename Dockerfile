# The workbench image: JupyterLab, the scheduler and the Celery worker all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WORKBENCH_HOME=/data \
    NUMBA_CACHE_DIR=/tmp/numba

RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 workbench \
    && mkdir -p /data && chown workbench:workbench /data

WORKDIR /app
COPY --chown=workbench:workbench . /app
RUN pip install -e .

USER workbench
EXPOSE 8888
ENTRYPOINT ["workbench"]
CMD ["--help"]
