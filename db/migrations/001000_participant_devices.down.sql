DROP TABLE IF EXISTS participant_devices;
