#!/bin/sh
# Run once by the postgres image when it initialises an empty volume (mounted as
# /docker-entrypoint-initdb.d, see docker-compose.yml): the service's own login role,
# owner of its database and nothing more (not a superuser, cannot create roles or
# databases), as store.kind postgres expects (the service creates and migrates its
# tables itself). The image's POSTGRES_USER stays the administrator.
#   CTI_DB_PASSWORD  the service role's password (the one in CTI_STORE_URL)
#   CTI_DB_USER      the service role (default cti)
#   CTI_DB_NAME      the database (default pln123)
set -eu
: "${CTI_DB_PASSWORD:?set CTI_DB_PASSWORD (the password in CTI_STORE_URL)}"
# psql variables (:'pw', :"db", :"role") quote the values, so any password is safe here.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v pw="$CTI_DB_PASSWORD" -v db="${CTI_DB_NAME:-pln123}" -v role="${CTI_DB_USER:-cti}" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
