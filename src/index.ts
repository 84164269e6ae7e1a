/**
 * kube-pki as a component library: the public surface for programs that embed it.
 * The Pulumi program itself is src/main.ts.
 */
export { ClusterPki, type ClusterPkiArgs, type NodePki, type WantedFile } from "./pki/cluster-pki";
export { CertificateAuthority, type AdoptReader, type CertificateAuthorityArgs } from "./pki/authority";
export { LeafCertificate, type LeafCertificateArgs } from "./pki/leaf";
export { ServiceAccountKeys, type ServiceAccountKeysArgs } from "./pki/service-account";
export { renderKubeconfig } from "./pki/kubeconfig";
export { catalog, COMPONENT_ORDER, type CatalogEntry, type Component } from "./pki/catalog";
export { Rollout, type RolloutArgs } from "./rollout/rollout";
export { adoptReader } from "./node/adopt";
export { kubePki } from "./program";
export type { ClusterSpec, NodeSpec } from "./spec";
