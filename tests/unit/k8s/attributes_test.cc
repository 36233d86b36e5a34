// Pod JSON -> PodInfo, resource attributes and service.name precedence.
#include "discovery/k8s/attributes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery/k8s/pod_json.h"
#include "test_pods.h"

namespace sonde {
namespace {

using nlohmann::json;
using sonde::testing::HexId;
using sonde::testing::MakePod;

std::string Get(const Attributes& a, const std::string& key) {
  for (const auto& kv : a)
    if (kv.key == key) return std::get<std::string>(kv.value);
  return "<absent>";
}

PodMeta MetaOf(const json& pod, size_t container = 0) {
  PodMeta m;
  EXPECT_TRUE(ParsePod(pod, &m.pod));
  m.container_name = m.pod.containers.at(container).name;
  m.container_otel_service_name = m.pod.containers.at(container).otel_service_name;
  return m;
}

TEST(PodJson, ParsesADeploymentPod) {
  PodInfo p;
  ASSERT_TRUE(ParsePodText(MakePod("checkout-7d9f8b6c5-x2x4z", "shop", "uid-1", "node-a", "api", HexId('a')).dump(), &p));
  EXPECT_EQ(p.namespace_name, "shop");
  EXPECT_EQ(p.owner_kind, "ReplicaSet");
  EXPECT_EQ(p.owner_name, "checkout-7d9f8b6c5");
  EXPECT_EQ(p.workload_kind, "Deployment");
  EXPECT_EQ(p.workload_name, "checkout");
  ASSERT_EQ(p.containers.size(), 1u);
  EXPECT_EQ(p.containers[0].id, HexId('a'));
  EXPECT_EQ(p.labels.at("app"), "checkout");
  EXPECT_FALSE(ParsePodText("{\"kind\":\"Status\"}", &p));
  EXPECT_FALSE(ParsePodText("not json", &p));
}

TEST(PodJson, OwnerKinds) {
  EXPECT_EQ(DeploymentFromReplicaSet("web-api-5f6d7c8b9", "5f6d7c8b9"), "web-api");
  EXPECT_EQ(DeploymentFromReplicaSet("web-api", ""), "");               // a bare ReplicaSet
  EXPECT_EQ(DeploymentFromReplicaSet("web-api-12345", "99999"), "");    // hash from elsewhere
  json pod = MakePod("db-0", "shop", "uid-2", "n", "postgres", HexId('b'));
  pod["metadata"]["labels"].erase("pod-template-hash");
  pod["metadata"]["ownerReferences"][0]["kind"] = "StatefulSet";
  pod["metadata"]["ownerReferences"][0]["name"] = "db";
  PodMeta m = MetaOf(pod);
  EXPECT_EQ(m.pod.workload_kind, "StatefulSet");
  Attributes a = K8sResourceAttributes(m, HexId('b'));
  EXPECT_EQ(Get(a, "k8s.statefulset.name"), "db");
  EXPECT_EQ(Get(a, "k8s.deployment.name"), "<absent>");
  // A non-controller owner reference is not the workload.
  pod["metadata"]["ownerReferences"][0]["controller"] = false;
  EXPECT_EQ(MetaOf(pod).pod.workload_kind, "");
}

TEST(K8sAttributes, ResourceAttributes) {
  PodMeta m = MetaOf(MakePod("checkout-7d9f8b6c5-x2x4z", "shop", "uid-1", "node-a", "api", HexId('a')));
  Attributes a = K8sResourceAttributes(m, HexId('a'));
  EXPECT_EQ(Get(a, "k8s.namespace.name"), "shop");
  EXPECT_EQ(Get(a, "k8s.pod.name"), "checkout-7d9f8b6c5-x2x4z");
  EXPECT_EQ(Get(a, "k8s.pod.uid"), "uid-1");
  EXPECT_EQ(Get(a, "k8s.container.name"), "api");
  EXPECT_EQ(Get(a, "k8s.deployment.name"), "checkout");
  EXPECT_EQ(Get(a, "k8s.replicaset.name"), "checkout-7d9f8b6c5");
  EXPECT_EQ(Get(a, "k8s.node.name"), "node-a");
  EXPECT_EQ(Get(a, "container.id"), HexId('a'));
  EXPECT_EQ(Get(a, "service.namespace"), "shop");
}

TEST(K8sAttributes, ServiceNamePrecedence) {
  json pod = MakePod("checkout-7d9f8b6c5-x2x4z", "shop", "uid-1", "node-a", "api", HexId('a'));
  // 1. the owner workload's name
  EXPECT_EQ(K8sServiceName(MetaOf(pod)), "checkout");
  // 2. app.kubernetes.io/name beats it
  pod["metadata"]["labels"]["app.kubernetes.io/name"] = "checkout-service";
  EXPECT_EQ(K8sServiceName(MetaOf(pod)), "checkout-service");
  // 3. the container's literal OTEL_SERVICE_NAME beats both; valueFrom is not read
  pod["spec"]["containers"][0]["env"].push_back({{"name", "OTEL_SERVICE_NAME"}, {"valueFrom", {{"fieldRef", {}}}}});
  EXPECT_EQ(K8sServiceName(MetaOf(pod)), "checkout-service");
  pod["spec"]["containers"][0]["env"].push_back({{"name", "OTEL_SERVICE_NAME"}, {"value", "checkout-api"}});
  EXPECT_EQ(K8sServiceName(MetaOf(pod)), "checkout-api");
  // A bare pod: its own name.
  json bare = MakePod("debug", "default", "uid-9", "node-a", "sh", HexId('c'));
  bare["metadata"].erase("ownerReferences");
  bare["metadata"]["labels"] = json::object();
  EXPECT_EQ(K8sServiceName(MetaOf(bare)), "debug");
}

}  // namespace
}  // namespace sonde
