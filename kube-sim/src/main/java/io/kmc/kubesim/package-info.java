/**
 * kube-sim: an in-JVM Kubernetes API server for kmc's tests, demo and benchmarks (never a runtime
 * dependency of kmc itself). What it does and where it differs from a real cluster:
 * {@code docs/kube-sim.md}.
 *
 * <p>Start one with {@link io.kmc.kubesim.KubeSim#start(io.vertx.core.Vertx, io.kmc.kubesim.KubeSimOptions)}
 * on the caller's Vertx, point kubectl or client-java at {@link io.kmc.kubesim.KubeSim#kubeconfig(String)},
 * and {@link io.kmc.kubesim.KubeSim#close()} it afterwards.
 *
 * <p>How the pieces fit: {@code ApiServer} (HTTP routing, content negotiation, Status errors) turns
 * requests into verbs on {@code Registry} (Kubernetes write semantics), which keeps objects in
 * {@code ObjectStore} (revisions, history, change listeners); {@code StorageVersions} maps kinds
 * stored in another shape (events.k8s.io Events are core Events), and kinds computed rather than
 * stored ({@code MetricsApi}) plug into the Registry as read-only sources. {@code ResourceCatalog}
 * is the one table of served kinds behind {@code Discovery}, {@code OpenApi} and routing; CRDs
 * extend it. {@code ModelSchemas} generates the built-in kinds' OpenAPI schemas from client-java's
 * models, which {@code OpenApi} publishes (v3, v2 JSON, v2 protobuf via {@code OpenApiV2Protobuf})
 * and {@code FieldValidation} checks writes against. {@code WatchStream} and {@code PodLogStream}
 * are the long-lived responses, {@code StrategicMergePatch}, {@code JsonPatches} and
 * {@code ServerSideApply} the write flavours, {@code Tables} the server-side printing.
 * {@code WorkloadController} is the controller-manager: {@code DeploymentController} (ReplicaSets,
 * rollouts, history), {@code ReplicaSetController} (pods) and {@code PodLifecycle} (scheduler and
 * kubelet), all recording Events through {@code EventRecorder}; {@code EventExpiry} ages them out.
 * {@code PodStreaming} serves exec, attach and port-forward: it upgrades to websocket channels
 * ({@code ChannelWebSocket}) or SPDY ({@code SpdySession}, {@code SpdyFrames}), and runs
 * {@code RemoteCommand} or {@code PortForward} over them; {@code ContainerRuntime} keeps each
 * container's simulated inside ({@link io.kmc.kubesim.container}).
 */
package io.kmc.kubesim;
