package io.kmc.hub.notify;

import io.kmc.plugin.DeliveryException;
import io.kmc.plugin.NotificationChannel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.mail.LoginOption;
import io.vertx.ext.mail.MailClient;
import io.vertx.ext.mail.MailConfig;
import io.vertx.ext.mail.MailMessage;
import io.vertx.ext.mail.StartTLSOptions;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * {@code email}: one plain-text message per event over SMTP, with the Vert.x mail client (which is
 * non-blocking: it runs on the event loop, no worker needed). {@code tls}: {@code starttls}
 * (required, the default), {@code tls} (implicit, port 465 usually) or {@code none}; the password
 * is a secret. A client is opened per delivery and closed after: notifications are few, and an
 * SMTP server that drops idle connections then never fails one.
 */
final class EmailChannel implements NotificationChannel {

  private static final Pattern ADDRESS = Pattern.compile("[^@\\s<>]+@[^@\\s<>]+");
  private static final Set<String> FIELDS = Set.of("host", "port", "tls", "username", "password", "from", "to",
      "subjectPrefix", "trustAll");

  private final Vertx vertx;
  private final long timeoutMillis;

  EmailChannel(Vertx vertx, long timeoutMillis) {
    this.vertx = vertx;
    this.timeoutMillis = timeoutMillis;
  }

  @Override
  public String type() {
    return "email";
  }

  @Override
  public Set<String> secretFields() {
    return Set.of("password");
  }

  @Override
  public void validate(JsonObject config) {
    for (String field : config.fieldNames()) {
      if (!FIELDS.contains(field)) {
        throw new IllegalArgumentException("unknown field config." + field + " (an email channel has " + FIELDS + ")");
      }
    }
    if (!(config.getValue("host") instanceof String host) || host.isBlank() || host.length() > 253
        || !host.matches("[A-Za-z0-9.:\\[\\]-]+")) {
      throw new IllegalArgumentException("config.host is required: the SMTP server's host name or address");
    }
    Object port = config.getValue("port");
    if (port != null && !(port instanceof Integer p && p > 0 && p < 65536)) {
      throw new IllegalArgumentException("config.port must be a port number (default: 587, or 465 with tls: tls)");
    }
    Object tls = config.getValue("tls");
    if (tls != null && !Set.of("starttls", "tls", "none").contains(tls)) {
      throw new IllegalArgumentException("config.tls must be starttls, tls or none");
    }
    if (config.getValue("trustAll") != null && !(config.getValue("trustAll") instanceof Boolean)) {
      throw new IllegalArgumentException("config.trustAll must be true or false");
    }
    if (!address(config.getValue("from"))) {
      throw new IllegalArgumentException("config.from is required: the sender's address");
    }
    if (!(config.getValue("to") instanceof JsonArray to) || to.isEmpty() || to.size() > 50
        || !to.stream().allMatch(EmailChannel::address)) {
      throw new IllegalArgumentException("config.to is required: a list of 1 to 50 recipient addresses");
    }
    boolean user = config.getValue("username") instanceof String;
    boolean password = config.getValue("password") instanceof String;
    if ((config.getValue("username") != null && !user) || (config.getValue("password") != null && !password)
        || user != password) {
      throw new IllegalArgumentException("config.username and config.password go together (both strings) or not at all");
    }
    if (config.getValue("subjectPrefix") != null && !(config.getValue("subjectPrefix") instanceof String s
        && s.length() <= 100)) {
      throw new IllegalArgumentException("config.subjectPrefix must be a string of at most 100 characters");
    }
  }

  private static boolean address(Object value) {
    return value instanceof String s && s.length() <= 320 && ADDRESS.matcher(s).matches();
  }

  @Override
  public Future<Void> send(JsonObject config, Message message) {
    String tls = config.getString("tls", "starttls");
    MailConfig mail = new MailConfig()
        .setHostname(config.getString("host"))
        .setPort(config.getInteger("port", "tls".equals(tls) ? 465 : 587))
        .setSsl("tls".equals(tls))
        .setStarttls("starttls".equals(tls) ? StartTLSOptions.REQUIRED : StartTLSOptions.DISABLED)
        .setTrustAll(config.getBoolean("trustAll", false))
        .setKeepAlive(false);
    mail.setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMillis));
    if (config.getString("username") != null) {
      mail.setLogin(LoginOption.REQUIRED).setUsername(config.getString("username"))
          .setPassword(config.getString("password"));
    } else {
      mail.setLogin(LoginOption.DISABLED);
    }
    List<String> to = new ArrayList<>();
    config.getJsonArray("to").forEach(address -> to.add((String) address));
    MailMessage mailMessage = new MailMessage()
        .setFrom(config.getString("from"))
        .setTo(to)
        .setSubject(config.getString("subjectPrefix", "[kmc]") + " " + message.severity() + ": " + message.summary())
        .setText(text(message));
    mailMessage.setHeaders(io.vertx.core.MultiMap.caseInsensitiveMultiMap()
        .add("X-Kmc-Delivery", String.valueOf(message.deliveryId()))
        .add("X-Kmc-Event", message.type()));
    MailClient client = MailClient.create(vertx, mail);
    return client.sendMail(mailMessage).timeout(timeoutMillis, TimeUnit.MILLISECONDS)
        .<Void>mapEmpty()
        .recover(e -> Future.failedFuture(new DeliveryException("SMTP " + mail.getHostname() + ":" + mail.getPort()
            + ": " + HttpChannels.message(e), permanent(e))))
        .eventually(client::close);
  }

  /** A 5xx SMTP reply to the message (a recipient refused) will not change by retrying; anything else may. */
  private static boolean permanent(Throwable e) {
    String text = HttpChannels.message(e);
    return text.matches("(?s).*\\b5[0-9][0-9][ -].*") && !text.contains("authentication");
  }

  static String text(Message message) {
    JsonObject event = message.event();
    StringBuilder text = new StringBuilder(message.summary()).append("\n\n")
        .append("Event:    ").append(message.type()).append('\n')
        .append("Severity: ").append(message.severity()).append('\n');
    if (event.getString("cluster") != null) {
      text.append("Cluster:  ").append(event.getString("cluster")).append('\n');
    }
    text.append("Time:     ").append(event.getString("time", "")).append('\n')
        .append("Event id: ").append(event.getString("id", "")).append("\n\n")
        .append(event.getJsonObject("details", new JsonObject()).encodePrettily()).append('\n');
    return text.toString();
  }
}
