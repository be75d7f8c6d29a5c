package io.kmc.hub.store;

import io.kmc.hub.config.HubConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.SslMode;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * The hub's PostgreSQL: the configured server, or with none configured an embedded one (a real
 * PostgreSQL from a Maven artifact) whose data lives in {@code data.dir/postgres} and survives
 * restarts. Schema migrations run once at start with Flyway, on a worker thread; PostgreSQL's
 * advisory lock (taken by Flyway) makes concurrent starts of several nodes safe. Queries use
 * vertx-pg-client.
 */
public final class Database {

  private static final Logger LOG = LoggerFactory.getLogger(Database.class);

  private final Pool pool;
  private final EmbeddedPostgres embedded;
  private final Vertx vertx;

  private Database(Vertx vertx, Pool pool, EmbeddedPostgres embedded) {
    this.vertx = vertx;
    this.pool = pool;
    this.embedded = embedded;
  }

  private record Started(Target target, EmbeddedPostgres embedded) {
  }

  /** Where to reach a PostgreSQL server. */
  private record Target(String host, int port, String database, String user, String password, String sslMode,
                        Path caFile) {
    String jdbcUrl() {
      return "jdbc:postgresql://" + host + ":" + port + "/" + database + "?sslmode=" + sslMode
          + (caFile == null ? "" : "&sslrootcert=" + caFile);
    }
  }

  public static Future<Database> start(Vertx vertx, HubConfig.Database config, Path dataDir) {
    return vertx.executeBlocking(() -> {
      EmbeddedPostgres embedded = null;
      Target target;
      if (config.embedded()) {
        embedded = startEmbedded(dataDir.resolve("postgres"), config.embeddedPort());
        target = new Target("127.0.0.1", embedded.getPort(), config.name(), "postgres", null, "disable", null);
        createDatabaseIfMissing(embedded, config.name());
      } else {
        target = new Target(config.host(), config.port(), config.name(), config.user(), config.password(),
            config.sslMode(), config.caFile());
      }
      try {
        migrate(target);
      } catch (RuntimeException e) {
        if (embedded != null) {
          embedded.close();
        }
        throw e;
      }
      return new Started(target, embedded);
    }, false).map(started -> {
      Target target = started.target();
      PgConnectOptions connect = new PgConnectOptions()
          .setHost(target.host()).setPort(target.port()).setDatabase(target.database())
          .setUser(target.user())
          .setSslMode(SslMode.of(target.sslMode()))
          .setReconnectAttempts(2).setReconnectInterval(500);
      if (target.password() != null) {
        connect.setPassword(target.password());
      }
      if ("require".equals(target.sslMode())) {
        // As libpq's sslmode=require: encrypted, the server's certificate not checked.
        connect.setSslOptions(new ClientSSLOptions().setTrustAll(true));
      } else if ("verify-full".equals(target.sslMode())) {
        ClientSSLOptions ssl = new ClientSSLOptions().setHostnameVerificationAlgorithm("HTTPS");
        if (target.caFile() != null) {
          ssl.setTrustOptions(new PemTrustOptions().addCertPath(target.caFile().toString()));
        }
        connect.setSslOptions(ssl);
      }
      // No acquisition timeout (0; the default is 30 s). In vertx-sql-client 5.0.7 a connection handed to a
      // waiter whose timeout fires in the same moment is never given back (the pool's recycle takes the waiter
      // off the queue without marking it, so the timeout's cancel still succeeds and the lease is dropped;
      // fixed upstream in 5.0.8, "Have SQL connection pool handle racy uncancellable timeout"). On a busy node
      // it lost all 8 connections within 3 minutes of the soak, and every query after that waited until it
      // failed. Without the timer that path is never taken; the wait queue is bounded instead, and a query
      // beyond it fails at once (503, Errors.unexpected).
      Pool pool = PgBuilder.pool()
          .with(new PoolOptions().setMaxSize(config.poolSize()).setName("kmc-db")
              .setConnectionTimeout(0).setMaxWaitQueueSize(config.maxWaitingQueries()))
          .connectingTo(connect).using(vertx).build();
      return new Database(vertx, pool, started.embedded());
    });
  }

  private static EmbeddedPostgres startEmbedded(Path dir, int port) throws IOException {
    long started = System.nanoTime();
    EmbeddedPostgres postgres = EmbeddedPostgres.builder()
        .setDataDirectory(dir)
        .setCleanDataDirectory(false)
        .setPort(port)
        .setPGStartupWait(Duration.ofSeconds(60))
        .start();
    LOG.info("embedded PostgreSQL started on 127.0.0.1:{} with data in {} ({} ms)", postgres.getPort(), dir,
        Duration.ofNanos(System.nanoTime() - started).toMillis());
    return postgres;
  }

  private static void createDatabaseIfMissing(EmbeddedPostgres postgres, String name) throws SQLException {
    try (Connection connection = postgres.getPostgresDatabase().getConnection()) {
      try (PreparedStatement exists = connection.prepareStatement("select 1 from pg_database where datname = ?")) {
        exists.setString(1, name);
        try (ResultSet rows = exists.executeQuery()) {
          if (rows.next()) {
            return;
          }
        }
      }
      try (Statement create = connection.createStatement()) {
        // Identifiers cannot be bound as parameters; the name comes from validated configuration.
        create.execute("create database \"" + name.replace("\"", "") + "\"");
      }
    }
  }

  private static void migrate(Target target) {
    var result = Flyway.configure()
        .dataSource(target.jdbcUrl(), target.user(), target.password())
        .locations("classpath:db/migration")
        .load()
        .migrate();
    LOG.info("database schema at version {} ({} migration(s) applied)",
        result.targetSchemaVersion == null ? "current" : result.targetSchemaVersion, result.migrationsExecuted);
  }

  public Pool pool() {
    return pool;
  }

  /** A readiness check: the database answers a trivial query. */
  public Future<Void> ping() {
    return pool.query("select 1").execute().mapEmpty();
  }

  public Future<Void> close() {
    return pool.close().eventually(() -> embedded == null ? Future.succeededFuture()
        : vertx.executeBlocking(() -> {
          embedded.close();
          return null;
        }, false));
  }
}
