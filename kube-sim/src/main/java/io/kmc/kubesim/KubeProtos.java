package io.kmc.kubesim;

import com.google.protobuf.Descriptors.FileDescriptor;
import io.kubernetes.client.proto.IntStr;
import io.kubernetes.client.proto.Meta;
import io.kubernetes.client.proto.Resource;
import io.kubernetes.client.proto.Runtime;
import io.kubernetes.client.proto.V1;
import io.kubernetes.client.proto.V1Apiextensions;
import io.kubernetes.client.proto.V1Apps;
import io.kubernetes.client.proto.V1Authentication;
import io.kubernetes.client.proto.V1Authorization;
import io.kubernetes.client.proto.V1Autoscaling;
import io.kubernetes.client.proto.V1Batch;
import io.kubernetes.client.proto.V1Coordination;
import io.kubernetes.client.proto.V1Events;
import io.kubernetes.client.proto.V1Networking;
import io.kubernetes.client.proto.V1Policy;
import io.kubernetes.client.proto.V1Rbac;
import io.kubernetes.client.proto.V1Scheduling;
import io.kubernetes.client.proto.V1Storage;
import java.util.List;

/**
 * The Kubernetes protobuf descriptors (client-java-proto) of the groups the simulator serves:
 * what {@link ProtobufBodies} decodes request bodies with, and where {@link ModelSchemas} finds each
 * type's Go package, hence its OpenAPI definition name. Core first, so it wins lookups by kind.
 */
final class KubeProtos {

  static final List<FileDescriptor> FILES = List.of(V1.getDescriptor(), V1Apps.getDescriptor(),
      V1Batch.getDescriptor(), V1Networking.getDescriptor(), V1Rbac.getDescriptor(), V1Coordination.getDescriptor(),
      V1Authorization.getDescriptor(), V1Authentication.getDescriptor(), V1Apiextensions.getDescriptor(),
      V1Policy.getDescriptor(), V1Autoscaling.getDescriptor(), V1Storage.getDescriptor(),
      V1Scheduling.getDescriptor(), V1Events.getDescriptor(), Meta.getDescriptor(), Runtime.getDescriptor(),
      IntStr.getDescriptor(), Resource.getDescriptor());

  private KubeProtos() {
  }
}
