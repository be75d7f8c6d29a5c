package io.kmc.hub.auth;

import io.kmc.hub.store.IdentityStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;

/**
 * The first administrator. At first start the user {@code admin} is created with the configured
 * password ({@code KMC_ADMIN_PASSWORD} or {@code auth.admin_password}); with none configured a
 * random one is generated and written to {@code data.dir/initial-admin-password} (readable by the
 * hub's user only), never to the log. There is no default password.
 */
public final class AdminAccount {

  public static final String NAME = "admin";
  public static final String PASSWORD_FILE = "initial-admin-password";

  private static final Logger LOG = LoggerFactory.getLogger(AdminAccount.class);

  private AdminAccount() {
  }

  public static Future<Void> ensure(Vertx vertx, IdentityStore store, TokenService tokens, String configuredPassword,
                                    Path dataDir) {
    return store.user(NAME).compose(existing -> {
      if (existing != null) {
        return Future.succeededFuture();
      }
      String password = configuredPassword != null ? configuredPassword : generate();
      return tokens.hashPassword(password)
          .compose(hash -> store.createUserIfAbsent(NAME, hash, List.of("kmc:admins")))
          .compose(created -> {
            if (!created || configuredPassword != null) {
              return Future.succeededFuture();
            }
            Path file = dataDir.resolve(PASSWORD_FILE);
            return vertx.executeBlocking(() -> write(file, password), false).onSuccess(v -> LOG.warn(
                "created the first admin user '{}' with a generated password, stored in {}; "
                    + "log in and change it, then delete the file", NAME, file.toAbsolutePath())).mapEmpty();
          });
    });
  }

  private static Void write(Path file, String password) {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, password + "\n");
      try {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system
      }
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  private static String generate() {
    byte[] bytes = new byte[18];
    new SecureRandom().nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
