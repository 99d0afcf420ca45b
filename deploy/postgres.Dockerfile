# PostgreSQL from Debian's package, for the recognizer replicas' shared gallery (built
# here because no image can be pulled from a registry on the machines this targets).
#   docker build -f deploy/postgres.Dockerfile --build-arg BASE_IMAGE=... .
ARG BASE_IMAGE=facestream/python-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends postgresql-15 && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data && chown postgres:postgres /var/lib/postgresql/data
COPY deploy/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data PATH=/usr/lib/postgresql/15/bin:$PATH
USER postgres
VOLUME /var/lib/postgresql/data
EXPOSE 5432
HEALTHCHECK --interval=3s --timeout=3s --start-period=20s --retries=10 \
  CMD ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-d", "facestream"]
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
