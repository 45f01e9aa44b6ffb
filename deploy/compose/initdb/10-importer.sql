-- The importer keeps its run state (checkpoints, digests, run history) in a database of its own
-- on the same server. Runs once, when the PostgreSQL volume is first initialised.
create database importer owner timesheets;
