package io.kmc.kubesim;

/** A long-lived response (a watch or a followed log) that must end when the simulator closes. */
interface SimStream {
  void end();
}
