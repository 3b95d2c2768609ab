DROP TABLE responses;
DROP TABLE trials;
DROP TABLE participant_sessions;
DROP TABLE participants;
DROP TABLE studies;
DROP TABLE stimuli;
DROP TABLE stimulus_sets;
