ALTER TABLE studies DROP CONSTRAINT studies_stop_rule_check,
    DROP COLUMN stop_fired_at, DROP COLUMN stop_width, DROP COLUMN stop_measure;
