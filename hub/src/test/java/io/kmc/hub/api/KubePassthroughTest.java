package io.kmc.hub.api;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KubePassthroughTest {

  @Test
  void watchesAndFollowedLogsAreStreams() {
    assertTrue(KubePassthrough.isStream("/api/v1/namespaces/a/pods", "watch=true"));
    assertTrue(KubePassthrough.isStream("/api/v1/pods", "labelSelector=x&watch=1&timeoutSeconds=5"));
    assertTrue(KubePassthrough.isStream("/api/v1/watch/namespaces/a/pods", null));
    assertTrue(KubePassthrough.isStream("/api/v1/namespaces/a/pods/p/log", "container=c&follow=true"));
    assertFalse(KubePassthrough.isStream("/api/v1/namespaces/a/pods/p/log", "tailLines=10"));
    assertFalse(KubePassthrough.isStream("/api/v1/namespaces/a/pods", "watch=false"));
    assertFalse(KubePassthrough.isStream("/api/v1/namespaces/a/configmaps/follow", "nowatch=true"));
    assertFalse(KubePassthrough.isStream("/api/v1/namespaces/a/pods", null));
    // The official Python client sends watch=True; the apiserver takes anything but 0 and false.
    assertTrue(KubePassthrough.isStream("/api/v1/namespaces/a/pods", "watch=True"));
    assertTrue(KubePassthrough.isStream("/api/v1/namespaces/a/pods", "watch=t"));
    assertTrue(KubePassthrough.isStream("/api/v1/namespaces/a/pods/p/log", "follow=TRUE"));
    assertFalse(KubePassthrough.isStream("/api/v1/namespaces/a/pods", "watch=False"));
    assertFalse(KubePassthrough.isStream("/api/v1/namespaces/a/pods", "watch=0"));
  }
}
