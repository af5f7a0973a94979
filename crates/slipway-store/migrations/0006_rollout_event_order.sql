-- Rollout events written in the same millisecond came back in the order of their random ids.
-- Each event is written with its audit entry, in one transaction; the entry's seq (dense, in
-- commit order across processes) now orders them. Rows written before this migration have
-- none and keep the old order among themselves.
ALTER TABLE rollout_events ADD COLUMN audit_seq BIGINT;
