package io.kmc.hub.rbac;

import io.kmc.common.KmcException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Requests read as the kube-apiserver's RequestInfoFactory reads them, apart from the documented differences. */
class KubeRequestAttributesTest {

  /** "-" is an empty value (or, for the query, none). The domain is for cluster prod. */
  @ParameterizedTest(name = "{0} {1}?{2}")
  @CsvSource(delimiter = '|', textBlock = """
      # method | path                                              | query                 | verb             | group         | version | resource    | subresource | namespace | name   | resource? | object           | domain
      # core group, namespaced: collections and items
      GET      | /api/v1/namespaces/shop/pods                      | -                     | list             | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods                      | watch=true            | watch            | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods                      | labelSelector=a&watch=1 | watch          | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods                      | watch=false           | list             | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods                      | watch=FALSE           | list             | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods                      | watch=0               | list             | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods                      | watch=yes             | watch            | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods                      | watch                 | watch            | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods                      | wat%63h=true          | watch            | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods                      | watch;x=1&watch=false | list             | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods                      | nowatch=true          | list             | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      HEAD     | /api/v1/namespaces/shop/pods                      | -                     | list             | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods/web-1                | -                     | get              | -             | v1      | pods        | -           | shop      | web-1  | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop/pods/web-1                | watch=true            | get              | -             | v1      | pods        | -           | shop      | web-1  | true      | pods             | prod/shop
      POST     | /api/v1/namespaces/shop/pods                      | -                     | create           | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      PUT      | /api/v1/namespaces/shop/services/web              | -                     | update           | -             | v1      | services    | -           | shop      | web    | true      | services         | prod/shop
      PATCH    | /api/v1/namespaces/shop/services/web              | -                     | patch            | -             | v1      | services    | -           | shop      | web    | true      | services         | prod/shop
      DELETE   | /api/v1/namespaces/shop/configmaps/cfg            | -                     | delete           | -             | v1      | configmaps  | -           | shop      | cfg    | true      | configmaps       | prod/shop
      DELETE   | /api/v1/namespaces/shop/configmaps                | -                     | deletecollection | -             | v1      | configmaps  | -           | shop      | -      | true      | configmaps       | prod/shop
      OPTIONS  | /api/v1/namespaces/shop/pods                      | -                     | options          | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      # named groups
      GET      | /apis/apps/v1/namespaces/shop/deployments         | -                     | list             | apps          | v1      | deployments | -           | shop      | -      | true      | deployments      | prod/shop
      PATCH    | /apis/apps/v1/namespaces/shop/deployments/web     | -                     | patch            | apps          | v1      | deployments | -           | shop      | web    | true      | deployments      | prod/shop
      GET      | /apis/example.com/v1alpha1/namespaces/shop/widgets/w | -                  | get              | example.com   | v1alpha1 | widgets    | -           | shop      | w      | true      | widgets          | prod/shop
      # across all namespaces, and cluster-scoped resources
      GET      | /api/v1/pods                                      | -                     | list             | -             | v1      | pods        | -           | -         | -      | true      | pods             | prod/
      GET      | /apis/apps/v1/deployments                         | watch=true            | watch            | apps          | v1      | deployments | -           | -         | -      | true      | deployments      | prod/
      GET      | /api/v1/nodes/node-1                              | -                     | get              | -             | v1      | nodes       | -           | -         | node-1 | true      | nodes            | prod/
      DELETE   | /apis/rbac.authorization.k8s.io/v1/clusterroles/x | -                     | delete           | rbac.authorization.k8s.io | v1 | clusterroles | -    | -         | x      | true      | clusterroles     | prod/
      # legacy watch prefix
      GET      | /api/v1/watch/namespaces/shop/pods                | -                     | watch            | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/watch/namespaces/shop/pods/web-1          | -                     | watch            | -             | v1      | pods        | -           | shop      | web-1  | true      | pods             | prod/shop
      GET      | /apis/apps/v1/watch/deployments                   | -                     | watch            | apps          | v1      | deployments | -           | -         | -      | true      | deployments      | prod/
      GET      | /api/v1/watch/namespaces                          | -                     | watch            | -             | v1      | namespaces  | -           | -         | -      | true      | namespaces       | prod/
      # the namespaces resource is cluster-scoped, its status and finalize are its subresources
      GET      | /api/v1/namespaces                                | -                     | list             | -             | v1      | namespaces  | -           | -         | -      | true      | namespaces       | prod/
      GET      | /api/v1/namespaces/shop                           | -                     | get              | -             | v1      | namespaces  | -           | -         | shop   | true      | namespaces       | prod/
      DELETE   | /api/v1/namespaces/shop                           | -                     | delete           | -             | v1      | namespaces  | -           | -         | shop   | true      | namespaces       | prod/
      PUT      | /api/v1/namespaces/shop/finalize                  | -                     | update           | -             | v1      | namespaces  | finalize    | -         | shop   | true      | namespaces       | prod/
      GET      | /api/v1/namespaces/shop/status                    | -                     | get              | -             | v1      | namespaces  | status      | -         | shop   | true      | namespaces       | prod/
      GET      | /api/v1/watch/namespaces/shop                     | -                     | watch            | -             | v1      | namespaces  | -           | -         | shop   | true      | namespaces       | prod/
      # subresources count as their parent, except those reaching past the object
      GET      | /api/v1/namespaces/shop/pods/web-1/log            | follow=true           | get              | -             | v1      | pods        | log         | shop      | web-1  | true      | pods             | prod/shop
      PUT      | /api/v1/namespaces/shop/pods/web-1/status         | -                     | update           | -             | v1      | pods        | status      | shop      | web-1  | true      | pods             | prod/shop
      PATCH    | /apis/apps/v1/namespaces/shop/deployments/web/scale | -                   | patch            | apps          | v1      | deployments | scale       | shop      | web    | true      | deployments      | prod/shop
      POST     | /api/v1/namespaces/shop/pods/web-1/eviction       | -                     | create           | -             | v1      | pods        | eviction    | shop      | web-1  | true      | pods             | prod/shop
      # a websocket session opens with a GET and is authorized as create (the apiserver since 1.31)
      GET      | /api/v1/namespaces/shop/pods/web-1/exec           | command=sh&stdin=true | create           | -             | v1      | pods        | exec        | shop      | web-1  | true      | pods/exec        | prod/shop
      POST     | /api/v1/namespaces/shop/pods/web-1/attach         | -                     | create           | -             | v1      | pods        | attach      | shop      | web-1  | true      | pods/attach      | prod/shop
      GET      | /api/v1/namespaces/shop/pods/web-1/portforward    | -                     | create           | -             | v1      | pods        | portforward | shop      | web-1  | true      | pods/portforward | prod/shop
      GET      | /api/v1/namespaces/shop/services/web:80/proxy/a/b | -                     | get              | -             | v1      | services    | proxy       | shop      | web:80 | true      | services/proxy   | prod/shop
      GET      | /api/v1/nodes/node-1/proxy/metrics                | -                     | get              | -             | v1      | nodes       | proxy       | -         | node-1 | true      | nodes/proxy      | prod/
      POST     | /api/v1/namespaces/shop/serviceaccounts/sa/token  | -                     | create           | -             | v1      | serviceaccounts | token   | shop      | sa     | true      | serviceaccounts/token | prod/shop
      # legacy proxy prefix: the verb is proxy and nothing after the name is a subresource
      GET      | /api/v1/proxy/namespaces/shop/pods/web-1/x/y      | -                     | proxy            | -             | v1      | pods        | -           | shop      | web-1  | true      | pods/proxy       | prod/shop
      # non-resource paths
      GET      | /api                                              | -                     | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /api/v1                                           | -                     | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /apis                                             | -                     | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /apis/                                            | -                     | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /apis/apps                                        | -                     | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /apis/apps/v1                                     | -                     | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /apis/apps/v1/                                    | -                     | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /version                                          | -                     | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /openapi/v2                                       | -                     | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /openapi/v3/apis/apps/v1                          | hash=abc              | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /healthz                                          | -                     | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /readyz                                           | verbose               | get              | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      HEAD     | /version                                          | -                     | head             | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      POST     | /apis                                             | -                     | post             | -             | -       | -           | -           | -         | -      | false     | discovery        | prod/
      GET      | /                                                 | -                     | get              | -             | -       | -           | -           | -         | -      | false     | nonresource      | prod/
      GET      | /metrics                                          | -                     | get              | -             | -       | -           | -           | -         | -      | false     | nonresource      | prod/
      GET      | /logs/kube-apiserver.log                          | -                     | get              | -             | -       | -           | -           | -         | -      | false     | nonresource      | prod/
      GET      | /readyz/etcd                                      | -                     | get              | -             | -       | -           | -           | -         | -      | false     | nonresource      | prod/
      GET      | /debug/pprof/profile                              | -                     | get              | -             | -       | -           | -           | -         | -      | false     | nonresource      | prod/
      GET      | /foo/v1/namespaces/shop/pods                      | -                     | get              | -             | -       | -           | -           | -         | -      | false     | nonresource      | prod/
      # trailing and repeated outer slashes, percent-encoded segments (decoded before splitting, as the apiserver does)
      GET      | /api/v1/namespaces/shop/pods/                     | -                     | list             | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | //api/v1/namespaces/shop/pods//                   | -                     | list             | -             | v1      | pods        | -           | shop      | -      | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/sh%6Fp/pods/web%2D1            | -                     | get              | -             | v1      | pods        | -           | shop      | web-1  | true      | pods             | prod/shop
      GET      | /api/v1/namespaces/shop%2Fsecrets                 | -                     | list             | -             | v1      | secrets     | -           | shop      | -      | true      | secrets          | prod/shop
      GET      | /api/v1/namespaces/shop/configmaps/caf%C3%A9      | -                     | get              | -             | v1      | configmaps  | -           | shop      | café   | true      | configmaps       | prod/shop
      """)
  void readsRequestsAsTheApiserverDoes(String method, String path, String query, String verb, String group,
                                       String version, String resource, String subresource, String namespace,
                                       String name, boolean resourceRequest, String object, String domain) {
    KubeRequestAttributes attributes = KubeRequestAttributes.parse(method, path, none(query));
    assertEquals(verb, attributes.verb(), "verb");
    assertEquals(empty(group), attributes.apiGroup(), "apiGroup");
    assertEquals(empty(version), attributes.apiVersion(), "apiVersion");
    assertEquals(empty(resource), attributes.resource(), "resource");
    assertEquals(empty(subresource), attributes.subresource(), "subresource");
    assertEquals(empty(namespace), attributes.namespace(), "namespace");
    assertEquals(empty(name), attributes.name(), "name");
    assertEquals(resourceRequest, attributes.resourceRequest(), "resourceRequest");
    assertEquals(object, attributes.object(), "object");
    assertEquals(domain, attributes.domain("prod"), "domain");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      /api/v1/namespaces//pods
      /apis/apps/v1/namespaces/shop//deployments
      /api/v1/namespaces/shop/pods/../secrets
      /api/v1/namespaces/shop/pods/%2E%2E/secrets
      /api/v1/namespaces/./pods
      /api/v1/namespaces/shop%2F%2Fpods
      /api/v1/namespaces/shop/pods/%zz
      /api/v1/namespaces/shop/pods/%4
      /api/v1/namespaces/shop/pods/%
      /api/v1/namespaces/shop/pods/%FF
      /api/v1/namespaces/shop/pods/%٦٣
      /api/v1/watch
      /apis/apps/v1/watch/
      /api/v1/proxy
      """)
  void refusesPathsItCannotReadSafely(String path) {
    KmcException e = assertThrows(KmcException.ClientError.class, () -> KubeRequestAttributes.parse("GET", path, null));
    assertEquals(400, e.status());
    assertTrue(e.getMessage().contains("'"), e.getMessage());
  }

  @Test
  void methodCaseDoesNotMatter() {
    assertEquals("create", KubeRequestAttributes.parse("post", "/api/v1/namespaces/a/pods", null).verb());
    assertEquals("deletecollection", KubeRequestAttributes.parse("delete", "/api/v1/namespaces/a/pods", "").verb());
  }

  @Test
  void keepsTheDecodedPath() {
    assertEquals("/api/v1/namespaces/shop/pods",
        KubeRequestAttributes.parse("GET", "//api/v1/namespaces/sh%6Fp/pods/", null).path());
    assertEquals("/", KubeRequestAttributes.parse("GET", "", null).path());
  }

  private static String none(String value) {
    return "-".equals(value) ? null : value;
  }

  private static String empty(String value) {
    return "-".equals(value) ? "" : value;
  }
}
