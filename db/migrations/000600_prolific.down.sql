DROP INDEX participants_session;
DROP TABLE prolific_calls;
DROP INDEX bonus_batches_paying;
ALTER TABLE bonus_batches DROP CONSTRAINT bonus_batches_prolific_paid;
ALTER TABLE bonus_batches DROP COLUMN prolific_error, DROP COLUMN pay_sent_at, DROP COLUMN prolific_state, DROP COLUMN prolific_bonus_id;
DROP INDEX participants_unverified;
ALTER TABLE participants DROP COLUMN prolific_verified, DROP COLUMN prolific_status;
DROP TABLE prolific_links;
