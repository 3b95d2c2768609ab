CREATE INDEX participants_started ON participants (study_id) WHERE status = 'started';
