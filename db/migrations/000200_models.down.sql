DROP TABLE model_outputs;
DROP TABLE model_runs;
