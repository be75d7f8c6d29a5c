# The kmc hub image. Build context: the repository root, after Maven has built the jar:
#
#   mvn -B -q package -DskipTests
#   docker build -f deploy/docker/hub.Dockerfile -t kmc-hub .
#
# A Debian/Ubuntu-based JRE, not Alpine: with no database configured the hub starts an embedded
# PostgreSQL, whose binaries are built against glibc. Pin the base by digest in your own builds.
FROM eclipse-temurin:17-jre

# A numeric user with a passwd entry: Kubernetes checks runAsNonRoot against the number, and the
# embedded PostgreSQL (initdb) refuses to run as a user it cannot look up.
RUN groupadd --system --gid 10001 kmc \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/kmc --no-create-home \
      --shell /usr/sbin/nologin kmc \
 && mkdir -p /opt/kmc /var/lib/kmc \
 && chown 10001:10001 /var/lib/kmc

# Owned by root and not writable by the hub: the root filesystem is read-only in Kubernetes anyway.
COPY hub/target/kmc-hub.jar /opt/kmc/kmc-hub.jar

# data.dir is the one place the hub writes (the generated TLS certificate, the first admin's
# generated password, the embedded database); mount a volume there. It is also the working
# directory, where the hub looks for kmc-hub.yaml when neither an argument nor KMC_CONFIG names one.
ENV KMC_DATA_DIR=/var/lib/kmc
WORKDIR /var/lib/kmc
USER 10001:10001

# 8080: API, Kubernetes pass-through and agent websocket; 9090: /healthz, /ready, /metrics;
# 5701: Hazelcast members; 5702: the Vert.x event bus between hub nodes.
EXPOSE 8080 9090 5701 5702

# The --add-* flags let Hazelcast use the JDK internals it needs on Java 17. The heap follows the
# container's memory limit. Further JVM flags go into JDK_JAVA_OPTIONS; arguments after the image
# (a configuration file path) reach the hub.
ENTRYPOINT ["java", \
  "-XX:MaxRAMPercentage=75", \
  "-XX:+ExitOnOutOfMemoryError", \
  "--add-modules", "java.se", \
  "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED", \
  "--add-opens", "java.base/java.lang=ALL-UNNAMED", \
  "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", \
  "--add-opens", "java.management/sun.management=ALL-UNNAMED", \
  "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED", \
  "-jar", "/opt/kmc/kmc-hub.jar"]
