DROP TABLE model_conditions;
