-- Issue 18 (part 3): an adaptive pool. Every item first gets
-- responses_per_item (R_min) answers; then extra answers go to the items
-- people disagree on most, up to max_responses_per_item (R_max) per item,
-- until answer_budget answers (R_min's included) are spent. NULL R_max: a
-- plain pool. The slots of an adaptive pool are R_max per item.
ALTER TABLE studies
    ADD COLUMN max_responses_per_item integer CHECK (max_responses_per_item > 0),
    ADD COLUMN answer_budget integer CHECK (answer_budget > 0),
    ADD CONSTRAINT studies_adaptive_check CHECK (max_responses_per_item IS NULL
        OR (design = 'pool' AND max_responses_per_item > responses_per_item AND answer_budget IS NOT NULL));
