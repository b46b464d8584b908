-- Several workers write one database, and their threats share agents. A writer writes its
-- batch's agent rows just before its commit, one writer at a time (an advisory lock), so two
-- batches never hold agents the other wants (which deadlocked workers). A threat's row can
-- therefore reach the table before its agent's: the check that its agent exists waits for
-- the commit, where it holds as before.
ALTER TABLE threats ALTER CONSTRAINT threats_agent_id_fkey DEFERRABLE INITIALLY DEFERRED;
