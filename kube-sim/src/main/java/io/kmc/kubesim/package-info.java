/**
 * kube-sim: an in-JVM Kubernetes API server for kmc's tests, demo and benchmarks (never a runtime
 * dependency of kmc itself).
 *
 * <p>Start one with {@link io.kmc.kubesim.KubeSim#start(io.vertx.core.Vertx, io.kmc.kubesim.KubeSimOptions)}
 * on the caller's Vertx, point kubectl or client-java at {@link io.kmc.kubesim.KubeSim#kubeconfig(String)},
 * and {@link io.kmc.kubesim.KubeSim#close()} it afterwards.
 *
 * <p>How the pieces fit: {@code ApiServer} (HTTP routing, content negotiation, Status errors) turns
 * requests into verbs on {@code Registry} (Kubernetes write semantics), which keeps objects in
 * {@code ObjectStore} (revisions, history, change listeners). {@code ResourceCatalog} is the one
 * table of served kinds behind {@code Discovery}, {@code OpenApi} and routing; CRDs extend it.
 * {@code WatchStream} and {@code PodLogStream} are the long-lived responses,
 * {@code StrategicMergePatch}, {@code JsonPatches} and {@code ServerSideApply} the write flavours,
 * {@code Tables} the server-side printing, and {@code WorkloadController} the tiny
 * controller-manager that makes Deployments look alive.
 */
package io.kmc.kubesim;
