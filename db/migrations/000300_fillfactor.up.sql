-- Room on each page for the updates of the participant path, so that they
-- stay HOT (heap-only: the new row version goes on the same page and no
-- index is touched). Every trial row is updated once (shown_at, in no
-- index) and every participant row once per answer (n_answered, n_correct,
-- in no index). At the default fillfactor 100 the trial rows of a join fill
-- their pages, so a third of the shown_at stamps found no room and wrote
-- three index entries each (measured with pg_stat_user_tables: 6,111 of
-- 8,710 HOT). Applies to pages written from now on.
ALTER TABLE trials SET (fillfactor = 70);
ALTER TABLE participants SET (fillfactor = 70);
