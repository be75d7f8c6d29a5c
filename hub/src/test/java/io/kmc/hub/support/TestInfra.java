package io.kmc.hub.support;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import redis.embedded.RedisServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * One real PostgreSQL and one real Redis for every test in this JVM, started on first use from
 * Maven artifacts (no Docker) and stopped when the JVM exits. Each {@link Fleet} gets a database and
 * a key prefix of its own.
 */
public final class TestInfra {

  private static EmbeddedPostgres postgres;
  private static RedisServer redis;
  private static int redisPort;

  private TestInfra() {
  }

  public static synchronized EmbeddedPostgres postgres() {
    if (postgres == null) {
      try {
        Path dir = Files.createTempDirectory("kmc-test-postgres");
        postgres = EmbeddedPostgres.builder().setDataDirectory(dir).setCleanDataDirectory(true).start();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start the test PostgreSQL: " + e.getMessage(), e);
      }
      Runtime.getRuntime().addShutdownHook(new Thread(TestInfra::stopPostgres, "kmc-test-postgres-stop"));
    }
    return postgres;
  }

  /** A new, empty database; returns its name. */
  public static String newDatabase() {
    String name = "kmc_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection connection = postgres().getPostgresDatabase().getConnection();
         Statement statement = connection.createStatement()) {
      statement.execute("create database " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create test database " + name + ": " + e.getMessage(), e);
    }
    return name;
  }

  /** A JDBC connection to one of the test databases, for tests that look at what the hub stored. */
  public static Connection connect(String database) throws SQLException {
    return postgres().getDatabase("postgres", database).getConnection();
  }

  public static synchronized int redisPort() {
    if (redis == null) {
      try {
        redisPort = Fleet.freePort();
        redis = new RedisServer(redisPort);
        redis.start();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start the test Redis: " + e.getMessage(), e);
      }
      Runtime.getRuntime().addShutdownHook(new Thread(TestInfra::stopRedis, "kmc-test-redis-stop"));
    }
    return redisPort;
  }

  /** Stops and starts the test Redis again on the same port, for tests of losing it. */
  public static synchronized void stopRedisForAWhile() throws IOException {
    redis.stop();
  }

  public static synchronized void restartRedis() throws IOException {
    redis = new RedisServer(redisPort);
    redis.start();
  }

  private static synchronized void stopPostgres() {
    try {
      postgres.close();
    } catch (IOException e) {
      // the JVM is exiting
    }
  }

  private static synchronized void stopRedis() {
    try {
      redis.stop();
    } catch (IOException e) {
      // the JVM is exiting
    }
  }
}
