package io.kmc.hub.web;

import io.kmc.common.KmcException;
import io.vertx.core.VertxException;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.pgclient.PgException;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ErrorsTest {

  @Test
  void aLostStoreIsUnavailableNotAnInternalError() {
    KmcException refused = Errors.unexpected(new CompletionException(new ConnectException("Connection refused: /127.0.0.1:6379")));
    assertEquals(503, refused.status());
    assertTrue(refused.getMessage().contains("Connection refused: /127.0.0.1:6379"), refused.getMessage());

    KmcException shuttingDown = Errors.unexpected(new PgException("terminating connection due to administrator command",
        "FATAL", "57P01", null));
    assertEquals(503, shuttingDown.status());
    assertEquals(503, Errors.unexpected(VertxException.noStackTrace("CONNECTION_CLOSED")).status());
  }

  @Test
  void aFullDatabaseWaitQueueIsUnavailableWithTheSettingToLookAt() {
    KmcException busy = Errors.unexpected(new CompletionException(
        new ConnectionPoolTooBusyException("Connection pool reached max wait queue size of 10000")));
    assertEquals(503, busy.status());
    assertTrue(busy.getMessage().contains("database.max_waiting_queries"), busy.getMessage());
    assertEquals(1, busy.retryAfterSeconds(), "clients are told when to try again");
  }

  @Test
  void anythingElseStaysAnInternalError() {
    assertEquals(500, Errors.unexpected(new PgException("relation \"x\" does not exist", "ERROR", "42P01", null)).status());
    assertEquals(500, Errors.unexpected(new IllegalStateException("a bug")).status());
    assertEquals("internal error", Errors.unexpected(new NullPointerException()).getMessage());
  }
}
