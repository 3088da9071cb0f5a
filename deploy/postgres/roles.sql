-- Invite Users' databases and roles on PostgreSQL: one database per service, and two roles each.
--
--   <service>           the role the service runs as: it may connect, and read and write the rows
--                       of its tables (the grants `python -m <service> migrate` gives it after each
--                       migration), but never create, alter or drop a table
--   <service>_migrator  the role of the migration step (<SERVICE>_MIGRATION_DB_URL): it owns the
--                       database and its schema
--
-- Run it as a superuser (or a role with CREATEROLE and CREATEDB), with each role's password as a
-- psql variable:
--
--   psql -v ON_ERROR_STOP=1 -h db.internal -U postgres -d postgres \
--     -v intake_password=… -v intake_migrator_password=… \
--     -v approval_password=… -v approval_migrator_password=… \
--     -v notifier_password=… -v notifier_migrator_password=… \
--     -f deploy/postgres/roles.sql
--
-- Running it again creates nothing twice and sets the passwords given, so it also changes them.
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN', name)
  FROM (VALUES ('intake'), ('intake_migrator'), ('approval'), ('approval_migrator'),
               ('notifier'), ('notifier_migrator')) AS wanted(name)
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) \gexec

-- the server stores each password hashed (SCRAM-SHA-256 by default)
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', name, password)
  FROM (VALUES ('intake', :'intake_password'), ('intake_migrator', :'intake_migrator_password'),
               ('approval', :'approval_password'), ('approval_migrator', :'approval_migrator_password'),
               ('notifier', :'notifier_password'), ('notifier_migrator', :'notifier_migrator_password'))
       AS given(name, password) \gexec

SELECT format('CREATE DATABASE %I OWNER %I', name, name || '_migrator')
  FROM (VALUES ('intake'), ('approval'), ('notifier')) AS wanted(name)
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = name) \gexec

-- Only the service's own roles may connect to its database (PUBLIC may connect to any by default);
-- a database made by an earlier version, owned by the runtime role, passes to the migration role.
SELECT format('ALTER DATABASE %I OWNER TO %I', name, name || '_migrator'),
       format('REVOKE ALL ON DATABASE %I FROM PUBLIC', name),
       format('GRANT CONNECT ON DATABASE %I TO %I', name, name)
  FROM (VALUES ('intake'), ('approval'), ('notifier')) AS wanted(name) \gexec

-- In each database the migration role owns the schema and every table (also those an earlier
-- version made as the runtime role), and nobody else may create in it (PUBLIC could before
-- PostgreSQL 15). The runtime role only uses it; its rights on the tables come from the migrate step.
\connect intake
REASSIGN OWNED BY intake TO intake_migrator;
ALTER SCHEMA public OWNER TO intake_migrator;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO intake;

\connect approval
REASSIGN OWNED BY approval TO approval_migrator;
ALTER SCHEMA public OWNER TO approval_migrator;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO approval;

\connect notifier
REASSIGN OWNED BY notifier TO notifier_migrator;
ALTER SCHEMA public OWNER TO notifier_migrator;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO notifier;
