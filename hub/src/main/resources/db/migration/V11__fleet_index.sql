-- The fleet index: what agents' informers report of the objects in their clusters (never their
-- spec or data). Everything here can be rebuilt by the agents' relists; losing it loses nothing.

create table fleet_objects (
  cluster          text        not null,
  api_group        text        not null,   -- '' for the core group
  api_version      text        not null,
  resource         text        not null,   -- the plural: deployments
  kind             text        not null,   -- Deployment
  namespace        text        not null,   -- '' for cluster-scoped objects
  name             text        not null,
  uid              text        not null,
  resource_version text        not null,
  labels           jsonb       not null default '{}',
  owner            text,                   -- Kind/name of the controlling owner
  created          timestamptz,
  summary          jsonb       not null default '{}',
  -- The whole object, only for kinds an agent is configured to keep whole (index.keep_objects).
  object           jsonb,
  -- The relist that last named the object; a relist's end drops the objects it did not name.
  gen              bigint      not null default 0,
  updated          timestamptz not null default now(),
  primary key (cluster, api_group, resource, namespace, name)
);

-- Label selectors (@> for =, ? for exists) across the fleet.
create index fleet_objects_labels on fleet_objects using gin (labels);
create index fleet_objects_by_kind on fleet_objects (api_group, resource, namespace, name);
create index fleet_objects_by_name on fleet_objects (name text_pattern_ops);

-- What each cluster's agent indexes, and the watermark of the last change applied, per kind.
create table fleet_kinds (
  cluster     text        not null,
  api_group   text        not null,
  resource    text        not null,
  api_version text        not null,
  kind        text        not null,
  namespaced  boolean     not null,
  watermark   text,
  last_sync   timestamptz not null default now(),
  primary key (cluster, api_group, resource)
);

-- When each cluster's index was last known current (its agent connected and feeding it).
create table fleet_clusters (
  cluster   text        primary key,
  last_sync timestamptz not null
);
