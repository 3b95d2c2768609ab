ALTER TABLE studies DROP CONSTRAINT studies_adaptive_check,
    DROP COLUMN answer_budget, DROP COLUMN max_responses_per_item;
