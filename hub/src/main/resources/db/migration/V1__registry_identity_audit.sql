-- Member clusters. Only the SHA-256 of a join token is kept; the token itself is shown once.
create table clusters (
  name          text primary key,
  display_name  text        not null,
  description   text        not null default '',
  labels        jsonb       not null default '{}',
  enabled       boolean     not null default true,
  impersonate   boolean     not null default false,
  token_sha256  text,
  kubeconfig    text,
  kube_context  text,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);

create table users (
  name          text primary key,
  password_hash text,
  groups        text[]      not null default '{}',
  disabled      boolean     not null default false,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);

-- A login session; the refresh token is kept as a SHA-256 and rotated at each refresh.
create table sessions (
  id             text primary key,
  user_name      text        not null references users (name) on delete cascade,
  refresh_sha256 text        not null,
  source         text,
  created_at     timestamptz not null default now(),
  refreshed_at   timestamptz not null default now(),
  expires_at     timestamptz not null,
  revoked_at     timestamptz
);
create index sessions_user on sessions (user_name);

-- Long-lived tokens for CI and kubeconfigs; revocable, kept as a SHA-256.
create table api_tokens (
  id           text primary key,
  name         text        not null,
  user_name    text        not null references users (name) on delete cascade,
  token_sha256 text        not null unique,
  created_at   timestamptz not null default now(),
  expires_at   timestamptz not null,
  revoked_at   timestamptz,
  last_used_at timestamptz
);
create index api_tokens_user on api_tokens (user_name);

-- The key pair that signs the hub's JWTs, generated once and shared by every node.
create table signing_keys (
  id          text primary key,
  algorithm   text        not null,
  private_pem text        not null,
  public_pem  text        not null,
  created_at  timestamptz not null default now()
);

-- casbin policy rules: p (role, object, action) and g (subject, role, domain pattern).
create table rbac_rules (
  id    bigserial primary key,
  ptype text not null,
  v0    text not null,
  v1    text not null,
  v2    text not null,
  unique (ptype, v0, v1, v2)
);

create table audit_log (
  id          bigserial primary key,
  at          timestamptz not null,
  request_id  text        not null,
  user_name   text,
  source      text,
  cluster     text,
  verb        text        not null,
  path        text        not null,
  resource    text,
  namespace   text,
  status      integer     not null,
  latency_ms  integer     not null,
  detail      text
);
create index audit_log_at on audit_log (at);
create index audit_log_user_at on audit_log (user_name, at);
create index audit_log_cluster_at on audit_log (cluster, at);
