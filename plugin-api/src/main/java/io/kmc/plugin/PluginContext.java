package io.kmc.plugin;

import io.vertx.core.Vertx;

/** What the hub gives a plugin's channels. */
public interface PluginContext {

  /** The hub node's Vert.x: for clients (HTTP, TCP) that run on its event loops. Never block on them. */
  Vertx vertx();

  /** How long a receiver has to accept a delivery (notifications.request_timeout). */
  long requestTimeoutMillis();
}
