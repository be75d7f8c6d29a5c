-- Which hub node feeds the fleet index of a cluster it reaches directly (direct mode): every node
-- serves such a cluster's requests, but one runs its informers and writes its index, as one agent
-- would. The holder renews its row; any node takes it once it has expired.
create table index_leases (
  cluster     text        primary key,
  holder      text        not null,
  expires_at  timestamptz not null
);
