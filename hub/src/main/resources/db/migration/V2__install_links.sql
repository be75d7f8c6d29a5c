-- Single-use, short-lived install links (GET /install/{secret}): the manifest they serve carries the
-- cluster's join token, which the hub does not keep. It is kept here sealed (AES-GCM) under a key
-- derived from the link's secret, which only the link holds: the database alone yields no token.
create table install_links (
  id           text primary key,            -- SHA-256 (hex) of the link's secret
  cluster      text        not null references clusters (name) on delete cascade,
  access       text        not null,        -- read, manage or impersonate: the agent's own rights
  sealed_token bytea       not null,        -- nonce (12 bytes) || AES-GCM ciphertext of the join token
  created_by   text,
  created_at   timestamptz not null default now(),
  expires_at   timestamptz not null,
  used_at      timestamptz
);
create index install_links_cluster on install_links (cluster);
