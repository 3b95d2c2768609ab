ALTER TABLE participants DROP COLUMN n_flagged, DROP COLUMN last_answer, DROP COLUMN run_length, DROP COLUMN longest_run;
ALTER TABLE responses DROP COLUMN timed, DROP COLUMN image_ms, DROP COLUMN shows, DROP COLUMN page_hidden,
    DROP COLUMN image_px, DROP COLUMN flags;
ALTER TABLE trials DROP COLUMN shows, DROP COLUMN image_served_at, DROP COLUMN instructed_answer;
ALTER TABLE studies DROP COLUMN min_view_ms, DROP COLUMN too_fast_ms;
