-- Live resource streams (docs/streams.md): every change written to the fleet index, numbered per
-- cluster, kept for a while so that a stream client reconnecting to any hub node with its resume
-- token is sent exactly what it missed. Rebuildable like the index: losing it makes clients start
-- over from a fresh initial state, never lose a change silently.

-- The last number given to a change of each cluster, and up to which number history was trimmed
-- (a token older than that cannot be resumed from for this cluster).
create table stream_seqs (
  cluster text   primary key,
  seq     bigint not null,
  trimmed bigint not null default 0
);

create table stream_changes (
  cluster   text        not null,
  seq       bigint      not null,
  api_group text        not null,
  resource  text        not null,
  type      text        not null,   -- ADDED, MODIFIED, DELETED (as the index saw it)
  body      jsonb       not null,   -- the object as the index holds it, prevLabels for a modification
  at        timestamptz not null default now(),
  primary key (cluster, seq)
);

create index stream_changes_at on stream_changes (at);
