-- pozytywka 0.1.0 -> 0.2.0 (ALTER EXTENSION pozytywka UPDATE).
--
-- Every change to the install script (src/sql/NN_*.sql) since 0.1.0 has its
-- counterpart here, so that an updated installation is defined exactly as a
-- fresh CREATE EXTENSION of 0.2.0 and keeps the user's data and models.
-- test/shell/upgrade.sh checks it and prints the differing definitions.
-- Rules (README, "Upgrades, backup and packages"):
--  - new objects: the same CREATE ... as in the install script, with their
--    COMMENTs, GRANTs and pg_extension_config_dump() calls;
--  - changed functions and views: CREATE OR REPLACE (DROP first when the
--    result type or the arguments change); dropped objects: DROP;
--  - new columns: ALTER TABLE ... ADD COLUMN with the same default and
--    constraints, and last in the install script's CREATE TABLE as well;
--  - reference rows (model_kinds, auto_preference, ...): the same INSERTs;
--  - derived caches may simply be emptied (they are recomputed);
--  - everything here runs in one transaction with the new library loaded.
--
-- What 0.2.0 changed for users is in CHANGELOG.md.

\echo Use "ALTER EXTENSION pozytywka UPDATE TO '0.2.0'" to load this file. \quit

-- part 05: pg_dump keeps the id sequences of the importer's log
SELECT pg_catalog.pg_extension_config_dump('pozytywka.import_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.import_rejects_reject_id_seq', '');
