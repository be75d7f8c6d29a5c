-- Notifications: where events go (channels), who wants which (subscriptions), and the outbox of
-- deliveries that every hub node works off. A delivery is claimed with FOR UPDATE SKIP LOCKED and held
-- for a lease, so that two nodes never send it at once and a node that dies mid-send leaves it to others.

create table notification_channels (
  name           text primary key,
  type           text        not null,
  -- What the API shows: the channel's settings without its secrets.
  config         jsonb       not null,
  -- HMAC keys, SMTP passwords, Slack webhook URLs: never returned by the API.
  secrets        jsonb       not null default '{}',
  rate_per_minute integer,
  max_attempts   integer,
  created_by     text,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);

create table notification_subscriptions (
  name        text primary key,
  spec        jsonb       not null,
  created_by  text,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table notification_deliveries (
  id              bigserial   primary key,
  event_id        uuid        not null,
  event_type      text        not null,
  severity        text        not null,
  cluster         text,
  channel         text        not null,
  -- The event as it is sent (channel types render it their own way).
  event           jsonb       not null,
  -- pending: waiting for its next attempt; sending: claimed by a node until lease_until;
  -- delivered; dead: gave up after max attempts or a permanent refusal.
  state           text        not null default 'pending',
  attempts        integer     not null default 0,
  next_attempt_at timestamptz not null default now(),
  lease_until     timestamptz,
  claimed_by      text,
  last_error      text,
  created_at      timestamptz not null default now(),
  delivered_at    timestamptz,
  updated_at      timestamptz not null default now(),
  unique (event_id, channel)
);

-- What the dispatchers poll: due pending deliveries, and sending ones whose lease ran out.
create index notification_deliveries_due on notification_deliveries (next_attempt_at) where state = 'pending';
create index notification_deliveries_leased on notification_deliveries (lease_until) where state = 'sending';
create index notification_deliveries_state on notification_deliveries (state, id);
