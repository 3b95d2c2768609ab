ALTER TABLE trials RESET (fillfactor);
ALTER TABLE participants RESET (fillfactor);
