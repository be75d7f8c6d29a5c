package io.kmc.ops;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy;
import ch.qos.logback.core.util.FileSize;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

import java.util.Locale;
import java.util.Map;

/**
 * Configures logback from the {@code log:} settings, in code, at start: JSON lines (logback's
 * {@link JsonEncoder}; key-value pairs given with SLF4J's fluent API such as cluster, user and
 * request id become fields) or readable text, to standard output or to a file rotated by size
 * and age. Libraries that log too much are kept at WARN.
 */
public final class Logging {

  private static final Map<String, Level> QUIET = Map.of(
      "com.hazelcast", Level.WARN,
      "io.netty", Level.WARN,
      "okhttp3", Level.WARN,
      "org.flywaydb", Level.WARN,
      "io.zonky", Level.WARN,
      "org.casbin", Level.WARN,
      // client-java's informers log every start, list and watch of every kind at INFO.
      "io.kubernetes.client.informer", Level.WARN,
      // Vert.x registers some of its gauges twice; Micrometer warns about it once, harmlessly.
      "io.micrometer.core.instrument.MeterRegistry", Level.ERROR);

  /** How often the log file's size is compared with log.max_size. */
  static final long SIZE_CHECK_MILLIS = 250;

  private Logging() {
  }

  public static void configure(LogSettings settings, String application) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    context.reset();
    context.putProperty("application", application);

    Encoder<ILoggingEvent> encoder = encoder(settings, context);
    Appender<ILoggingEvent> appender = settings.file() == null ? console(context, encoder) : file(settings, context, encoder);

    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(settings.level().toUpperCase(Locale.ROOT), Level.INFO));
    root.addAppender(appender);
    QUIET.forEach((name, level) -> context.getLogger(name).setLevel(level));

    // java.util.logging (used by some libraries) goes through the same appender.
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
    System.setProperty("hazelcast.logging.type", "slf4j");
  }

  private static Encoder<ILoggingEvent> encoder(LogSettings settings, LoggerContext context) {
    if ("json".equals(settings.format())) {
      return jsonEncoder(context);
    }
    PatternLayoutEncoder text = new PatternLayoutEncoder();
    text.setContext(context);
    // Key-value fields follow the message after a space; the replace drops that space when there are none.
    text.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{36} - %msg%replace( %kvp{SINGLE}){'^ $', ''}%n");
    text.start();
    return text;
  }

  /** One JSON object per event: the formatted message, level, logger, thread, time and key-value fields. */
  public static JsonEncoder jsonEncoder(LoggerContext context) {
    JsonEncoder json = new JsonEncoder();
    json.setContext(context);
    json.setWithSequenceNumber(false);
    json.setWithContext(false);
    json.setWithNanoseconds(false);
    json.setWithMessage(false);
    json.setWithArguments(false);
    json.setWithFormattedMessage(true);
    json.start();
    return json;
  }

  private static Appender<ILoggingEvent> console(LoggerContext context, Encoder<ILoggingEvent> encoder) {
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(context);
    console.setName("console");
    console.setEncoder(encoder);
    console.start();
    return console;
  }

  private static Appender<ILoggingEvent> file(LogSettings settings, LoggerContext context,
                                              Encoder<ILoggingEvent> encoder) {
    RollingFileAppender<ILoggingEvent> file = new RollingFileAppender<>();
    file.setContext(context);
    file.setName("file");
    file.setFile(settings.file().toString());
    file.setEncoder(encoder);

    BackupWindow policy = new BackupWindow(settings.file(), settings.maxBackups(), settings.maxAge());
    policy.setContext(context);
    policy.setParent(file);
    policy.start();
    SizeBasedTriggeringPolicy<ILoggingEvent> trigger = new SizeBasedTriggeringPolicy<>();
    trigger.setContext(context);
    trigger.setMaxFileSize(new FileSize(settings.maxSizeBytes()));
    // logback looks at the size once a minute by default: a busy node could overshoot by far.
    trigger.setCheckIncrement(ch.qos.logback.core.util.Duration.buildByMilliseconds(SIZE_CHECK_MILLIS));
    trigger.start();

    file.setRollingPolicy(policy);
    file.setTriggeringPolicy(trigger);
    file.start();
    return file;
  }
}
