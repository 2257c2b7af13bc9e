#!/bin/sh
# One database and one login role per service (CRM_DATABASES=identity,pipeline,...), created when
# missing: runs at every `docker compose up`, so a service added later gets its database too.
set -eu
for db in $(echo "$CRM_DATABASES" | tr ',' ' '); do
  psql -v ON_ERROR_STOP=1 -d postgres -q <<SQL
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', '$db', '$CRM_DATABASE_PASSWORD')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$db')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$db', '$db')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db')\gexec
SQL
  echo "database $db ready"
done
