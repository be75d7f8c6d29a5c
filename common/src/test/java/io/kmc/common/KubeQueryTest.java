package io.kmc.common;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KubeQueryTest {

  @Test
  void booleansReadAsTheApiserverReadsThem() {
    // Clients send every one of these; the apiserver takes all as true (apimachinery Convert_Slice_string_To_bool).
    for (String value : new String[] {"1", "t", "T", "TRUE", "true", "True", "yes", "", "f", "F"}) {
      assertTrue(KubeQuery.flag("watch=" + value, "watch"), "watch=" + value);
      assertTrue(KubeQuery.flag("limit=5&watch=" + value + "&x=1", "watch"), "watch=" + value + " among others");
    }
    for (String value : new String[] {"0", "FALSE", "false", "False", "fAlSe"}) {
      assertFalse(KubeQuery.flag("watch=" + value, "watch"), "watch=" + value);
    }
    assertTrue(KubeQuery.flag("watch", "watch"), "a bare key is an empty value");
    assertFalse(KubeQuery.flag("nowatch=true", "watch"));
    assertFalse(KubeQuery.flag(null, "watch"));
    assertFalse(KubeQuery.flag("", "watch"));
    assertTrue(KubeQuery.flag("w%61tch=%54rue", "watch"), "escapes are decoded first");
    assertFalse(KubeQuery.flag("watch=false&watch=true", "watch"), "the first value counts");
    assertFalse(KubeQuery.flag("watch=%zz", "watch"), "a broken escape skips the pair");
    assertFalse(KubeQuery.flag("watch=true;x", "watch"), "a pair with ';' is skipped, as Go does");
  }

  @Test
  void unescapesAsGo() {
    assertEquals("a b", KubeQuery.unescape("a+b", true));
    assertEquals("a+b", KubeQuery.unescape("a+b", false));
    assertEquals("a/b", KubeQuery.unescape("a%2Fb", false));
    assertNull(KubeQuery.unescape("%zz", false));
    assertNull(KubeQuery.unescape("abc%2", false));
    assertNull(KubeQuery.unescape("%ff", false), "a path must be UTF-8");
    assertEquals("\uFFFD", KubeQuery.unescape("%ff", true));
    assertTrue(KubeQuery.wellEscaped("a%20b%2F"));
    assertFalse(KubeQuery.wellEscaped("a%2"));
    assertFalse(KubeQuery.wellEscaped("%zz"));
  }
}
