# The kmc agent image. Build context: the repository root, after Maven has built the jar:
#
#   mvn -B -q package -DskipTests
#   docker build -f deploy/docker/agent.Dockerfile -t kmc-agent .
#
# The same base as the hub, so a node running both pulls the JRE layers once. Pin the base by
# digest in your own builds.
FROM eclipse-temurin:17-jre

# A numeric user, so Kubernetes can check runAsNonRoot without a name lookup.
RUN groupadd --system --gid 10001 kmc \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin kmc \
 && mkdir -p /opt/kmc

COPY agent/target/kmc-agent.jar /opt/kmc/kmc-agent.jar

# The agent writes nothing of its own; /tmp (an emptyDir in Kubernetes) is all the JVM needs.
WORKDIR /opt/kmc
USER 10001:10001

# 9090: /healthz, /ready, /metrics. The agent dials out to the hub and listens on nothing else.
# (Outside a container its default is 9091, apart from the hub's 9090; a container has its own ports.)
ENV KMC_METRICS_PORT=9090
EXPOSE 9090

# The heap follows the container's memory limit. Further JVM flags go into JDK_JAVA_OPTIONS;
# arguments after the image (a configuration file path) reach the agent.
ENTRYPOINT ["java", \
  "-XX:MaxRAMPercentage=75", \
  "-XX:+ExitOnOutOfMemoryError", \
  "-jar", "/opt/kmc/kmc-agent.jar"]
