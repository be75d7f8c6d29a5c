-- Propagations (docs/propagation.md): desired state, its history, per-cluster status, events, and
-- the lease that makes one hub node the controller.

-- The current manifest of each propagation (kmc.io/v1alpha1 Propagation, as JSON). A deletion is
-- first recorded (deleting) and carried out by the controller, which then removes the row.
create table propagations (
  name            text primary key,
  manifest        jsonb       not null,
  generation      bigint      not null default 1,
  created_by      text,
  updated_by      text,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  deleting        boolean     not null default false,
  orphan          boolean     not null default false
);

-- Every write, in order: who changed what.
create table propagation_revisions (
  name        text        not null,
  generation  bigint      not null,
  operation   text        not null,
  manifest    jsonb,
  changed_by  text,
  changed_at  timestamptz not null default now(),
  primary key (name, generation, operation)
);

-- What the controller knows of each target cluster. Written only by the lease holder, fenced by its epoch.
create table propagation_status (
  name                text        not null,
  cluster             text        not null,
  state               text        not null,
  message             text,
  generation          bigint      not null default 0,
  healthy             boolean     not null default false,
  health              jsonb,
  objects             jsonb,
  reapply             boolean     not null default false,
  applied_at          timestamptz,
  epoch               bigint      not null default 0,
  updated_at          timestamptz not null default now(),
  primary key (name, cluster)
);

-- What happened, for the notifications that come next and for GET .../events.
create table propagation_events (
  id          bigserial   primary key,
  name        text        not null,
  cluster     text,
  type        text        not null,
  message     text,
  generation  bigint,
  epoch       bigint,
  at          timestamptz not null default now()
);
create index propagation_events_name on propagation_events (name, id);

-- The controller lease: one row; the holder renews it, anyone may take it once it has expired,
-- and every take increments the epoch that fences the holder's writes.
create table propagation_lease (
  name        text        primary key,
  holder      text,
  epoch       bigint      not null default 0,
  expires_at  timestamptz not null default 'epoch'
);
insert into propagation_lease (name) values ('controller');
