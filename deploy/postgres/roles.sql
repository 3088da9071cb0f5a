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
-- Two optional variables put a second set beside the first on one server: `-v database_suffix=_r1`
-- names the databases intake_r1, approval_r1 and notifier_r1 (to restore a backup into and check it
-- before switching the services over, deploy/RUNBOOK.md "Backup and restore"), and
-- `-v role_suffix=_r1` names the roles intake_r1, intake_migrator_r1, and so on. Both default to
-- nothing, and may hold only lower-case letters, digits and underscores.
--
-- Running it again creates nothing twice and sets the passwords given, so it also changes them.
\set ON_ERROR_STOP on

\if :{?database_suffix}
\else
  \set database_suffix ''
\endif
\if :{?role_suffix}
\else
  \set role_suffix ''
\endif

-- a suffix is spliced into names and into \connect, so it may hold nothing that needs quoting
SELECT :'database_suffix' ~ '^[a-z0-9_]*$' AND :'role_suffix' ~ '^[a-z0-9_]*$' AS suffixes_plain \gset
\if :suffixes_plain
\else
  DO $$ BEGIN RAISE EXCEPTION 'database_suffix and role_suffix may hold only lower-case letters, digits and underscores'; END $$;
\endif

SELECT format('CREATE ROLE %I LOGIN', name || :'role_suffix')
  FROM (VALUES ('intake'), ('intake_migrator'), ('approval'), ('approval_migrator'),
               ('notifier'), ('notifier_migrator')) AS wanted(name)
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name || :'role_suffix') \gexec

-- the server stores each password hashed (SCRAM-SHA-256 by default)
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
              name || :'role_suffix', password)
  FROM (VALUES ('intake', :'intake_password'), ('intake_migrator', :'intake_migrator_password'),
               ('approval', :'approval_password'), ('approval_migrator', :'approval_migrator_password'),
               ('notifier', :'notifier_password'), ('notifier_migrator', :'notifier_migrator_password'))
       AS given(name, password) \gexec

SELECT format('CREATE DATABASE %I OWNER %I', name || :'database_suffix', name || '_migrator' || :'role_suffix')
  FROM (VALUES ('intake'), ('approval'), ('notifier')) AS wanted(name)
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = name || :'database_suffix') \gexec

-- Only the service's own roles may connect to its database (PUBLIC may connect to any by default,
-- and create temporary tables in it); a database made by an earlier version, owned by the runtime
-- role, passes to the migration role.
SELECT format('ALTER DATABASE %I OWNER TO %I', name || :'database_suffix', name || '_migrator' || :'role_suffix'),
       format('REVOKE ALL ON DATABASE %I FROM PUBLIC', name || :'database_suffix'),
       format('GRANT CONNECT ON DATABASE %I TO %I', name || :'database_suffix', name || :'role_suffix')
  FROM (VALUES ('intake'), ('approval'), ('notifier')) AS wanted(name) \gexec

SELECT 'intake' || :'database_suffix' AS intake_database, 'intake' || :'role_suffix' AS intake_role,
       'intake_migrator' || :'role_suffix' AS intake_migrator,
       'approval' || :'database_suffix' AS approval_database, 'approval' || :'role_suffix' AS approval_role,
       'approval_migrator' || :'role_suffix' AS approval_migrator,
       'notifier' || :'database_suffix' AS notifier_database, 'notifier' || :'role_suffix' AS notifier_role,
       'notifier_migrator' || :'role_suffix' AS notifier_migrator \gset

-- In each database the migration role owns the schema and every table (also those an earlier
-- version made as the runtime role), and nobody else may create in it (PUBLIC could before
-- PostgreSQL 15). The runtime role only uses it; its rights on the tables come from the migrate step.
\connect :intake_database
REASSIGN OWNED BY :"intake_role" TO :"intake_migrator";
ALTER SCHEMA public OWNER TO :"intake_migrator";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"intake_role";

\connect :approval_database
REASSIGN OWNED BY :"approval_role" TO :"approval_migrator";
ALTER SCHEMA public OWNER TO :"approval_migrator";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"approval_role";

\connect :notifier_database
REASSIGN OWNED BY :"notifier_role" TO :"notifier_migrator";
ALTER SCHEMA public OWNER TO :"notifier_migrator";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"notifier_role";
