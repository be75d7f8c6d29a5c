package io.kmc.hub.auth;

import io.kmc.common.KmcException;
import io.kmc.hub.cache.SharedState;
import io.kmc.hub.notify.Event;
import io.kmc.hub.notify.EventType;
import io.kmc.hub.notify.Notifier;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.time.Duration;

/**
 * Slows and then stops password guessing: failed logins are counted per user name and per source
 * address in a window shared by every node; each failure answers a little later than the one
 * before, and past the limit the login is refused with 429 until the window ends. Reaching the
 * limit is notified ({@code auth.login_failures}), once per window: the count is shared, so exactly
 * one node sees it reach the limit.
 */
public final class LoginGuard {

  private static final long MAX_DELAY_MILLIS = 2_000;

  private final Vertx vertx;
  private final SharedState shared;
  private final int attempts;
  private final Duration window;
  private final Notifier notifier;

  public LoginGuard(Vertx vertx, SharedState shared, int attempts, Duration window, Notifier notifier) {
    this.vertx = vertx;
    this.shared = shared;
    this.attempts = attempts;
    this.window = window;
    this.notifier = notifier;
  }

  /** Fails with 429 if the user or the address has used up its attempts. */
  public Future<Void> check(String user, String source) {
    return Future.all(shared.count(userKey(user)), shared.count(sourceKey(source))).compose(counts -> {
      long byUser = counts.resultAt(0);
      long bySource = counts.resultAt(1);
      if (byUser >= attempts || bySource >= attempts * 4L) {
        return Future.failedFuture(KmcException.tooManyRequests(
            "too many failed logins; retry in " + window.toSeconds() + " s", window.toSeconds()));
      }
      return Future.succeededFuture();
    });
  }

  /** Counts a failure and completes after a delay that grows with the failures. */
  public Future<Void> failed(String user, String source) {
    return Future.all(shared.increment(userKey(user), window), shared.increment(sourceKey(source), window))
        .compose(counts -> {
          long failures = ((SharedState.WindowCount) counts.resultAt(0)).count();
          long fromSource = ((SharedState.WindowCount) counts.resultAt(1)).count();
          if (failures == attempts) {
            limitReached("user", user, failures);
          }
          if (fromSource == attempts * 4L) {
            limitReached("source", source, fromSource);
          }
          long delay = Math.min(MAX_DELAY_MILLIS, 100L << Math.min(10, failures));
          return vertx.timer(delay).mapEmpty();
        });
  }

  private void limitReached(String what, String who, long failures) {
    notifier.emit(Event.of(EventType.LOGIN_FAILURES, null, what + ":" + who, failures + " failed logins "
        + ("user".equals(what) ? "of user " : "from ") + who + " within " + window.toSeconds()
        + " s; further logins are refused until the window ends", new JsonObject().put(what, who)
        .put("failures", failures).put("windowSeconds", window.toSeconds())));
  }

  public Future<Void> succeeded(String user) {
    return shared.delete(userKey(user));
  }

  private static String userKey(String user) {
    return "login-failures:user:" + user;
  }

  private static String sourceKey(String source) {
    return "login-failures:source:" + source;
  }
}
