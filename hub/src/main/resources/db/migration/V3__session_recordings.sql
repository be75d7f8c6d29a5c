-- Recordings of exec and attach sessions (audit.record_sessions), in asciicast v2.
create table audit_sessions (
  id          uuid        primary key,
  request_id  text        not null,
  started_at  timestamptz not null,
  ended_at    timestamptz not null,
  user_name   text,
  cluster     text        not null,
  path        text        not null,
  command     text,
  bytes       integer     not null,
  truncated   boolean     not null,
  recording   text        not null
);
create index audit_sessions_started_at on audit_sessions (started_at);
