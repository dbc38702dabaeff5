-- part 05 (0.2.0): pg_dump keeps the id sequences of the importer's log.
--
-- Their tables are dumped (part 00), so their sequences must be too: a
-- restored database would otherwise hand out run_id 1 again and the next
-- pozytywka-import would fail on import_runs_pkey (found by
-- test/shell/dump_restore.sh).  Kept apart from part 00 only so that it
-- merges without touching it; it belongs beside part 00's
-- pg_extension_config_dump calls.  The upgrade script from 0.1.0 makes the
-- same calls.
SELECT pg_catalog.pg_extension_config_dump('pozytywka.import_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.import_rejects_reject_id_seq', '');
