-- Admission policies (CEL), checked on writes that pass through the hub. The manifest is kept as the
-- user wrote it (kmc.io/v1alpha1 Policy, as JSON); the hub validates and compiles it before storing,
-- and every node compiles it again when it loads the table.
create table policies (
  name        text primary key,
  manifest    jsonb       not null,
  generation  bigint      not null default 1,
  created_by  text,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
