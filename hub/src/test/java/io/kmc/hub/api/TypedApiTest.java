package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TypedApiTest {

  @Test
  void pathsAreTheKubernetesOnes() {
    assertEquals("/apis/apps/v1/namespaces/shop/deployments/web/scale",
        TypedApi.path("apps", "v1", "deployments", "shop", "web", "scale"));
    assertEquals("/api/v1/pods", TypedApi.path("", "v1", "pods", null, null, null));
    assertEquals("/api/v1/namespaces/shop", TypedApi.path("", "v1", "namespaces", null, "shop", null));
    assertEquals("/apis/test.kmc.io/v1/namespaces/a/gadgets",
        TypedApi.path("test.kmc.io", "v1", "gadgets", "a", null, null));
  }

  @Test
  void listQueriesAreEscapedForTheMemberCluster() {
    TypedLists.ListQuery query = new TypedLists.ListQuery("prod", "apps", "v1", "deployments", "shop",
        "app in (web, api),tier!=db", "metadata.name=web", 50, "abc+/=");
    assertEquals("labelSelector=app%20in%20%28web%2C%20api%29%2Ctier%21%3Ddb&fieldSelector=metadata.name%3Dweb"
        + "&limit=50&continue=abc%2B%2F%3D", TunnelLists.kubeQuery(query));
    assertEquals("/apis/apps/v1/namespaces/shop/deployments", TunnelLists.path(query));
    assertNull(TunnelLists.kubeQuery(new TypedLists.ListQuery("prod", "", "v1", "pods", null, null, null, null, null)));
  }

  @Test
  void aMemberClustersRefusalKeepsItsStatusReasonAndMessage() {
    KmcException conflict = KubeCall.memberFailure(409, Buffer.buffer("""
        {"kind":"Status","apiVersion":"v1","status":"Failure","reason":"AlreadyExists",
         "message":"configmaps \\"x\\" already exists","code":409}"""));
    assertEquals(409, conflict.status());
    assertEquals("AlreadyExists", conflict.reason());
    assertEquals("configmaps \"x\" already exists", conflict.getMessage());

    KmcException text = KubeCall.memberFailure(500, Buffer.buffer("upstream broke\n"));
    assertTrue(text instanceof KmcException.ServerError);
    assertEquals("InternalError", text.reason());
    assertEquals("upstream broke", text.getMessage());

    KmcException empty = KubeCall.memberFailure(422, null);
    assertEquals("Invalid", empty.reason());
    assertEquals("the member cluster answered 422", empty.getMessage());
  }
}
