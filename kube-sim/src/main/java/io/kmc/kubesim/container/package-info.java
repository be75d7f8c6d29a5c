/**
 * The inside of a simulated container, for {@code kubectl exec}, {@code attach} and {@code cp}: an
 * in-memory filesystem ({@link io.kmc.kubesim.container.FileTree}), a shell that interprets a useful
 * subset of sh ({@code Shell}, {@code Script}) with BusyBox-like programs ({@code Commands}, {@code Tar}),
 * and the client's end of a process ({@link io.kmc.kubesim.container.Console}: stdin, outputs, and a
 * terminal's line discipline when a TTY is asked for).
 *
 * <p>Nothing here knows HTTP or the streaming protocols; the simulator's API server connects a
 * Console to a websocket or SPDY stream. Everything runs on one event-loop context per simulator,
 * asynchronously (a command's exit status is a future); only tar and big checksums use a worker
 * thread, through bounded blocking streams ({@code WorkerStreams}).
 */
package io.kmc.kubesim.container;
