// Pod objects in the v1 API's JSON shape, for the tests.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sonde::testing {

inline std::string HexId(char c) { return std::string(64, c); }

// A Deployment's pod: owned by ReplicaSet "<app>-7d9f8b6c5" with the
// pod-template-hash label the Deployment controller sets.
inline nlohmann::json MakePod(const std::string& name, const std::string& ns, const std::string& uid,
                              const std::string& node, const std::string& container, const std::string& container_id,
                              const std::string& app = "checkout") {
  using nlohmann::json;
  return json{
      {"kind", "Pod"},
      {"apiVersion", "v1"},
      {"metadata",
       {{"name", name},
        {"namespace", ns},
        {"uid", uid},
        {"labels", {{"app", app}, {"pod-template-hash", "7d9f8b6c5"}}},
        {"annotations", {{"kubectl.kubernetes.io/restartedAt", "2024-05-01T10:00:00Z"}}},
        {"ownerReferences",
         json::array({{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"}, {"name", app + "-7d9f8b6c5"},
                       {"uid", "rs-uid"}, {"controller", true}, {"blockOwnerDeletion", true}}})}}},
      {"spec",
       {{"nodeName", node},
        {"containers", json::array({{{"name", container}, {"image", "registry.local/" + container + ":1"},
                                     {"env", json::array({{{"name", "PORT"}, {"value", "8080"}}})}}})}}},
      {"status",
       {{"phase", "Running"},
        {"containerStatuses",
         json::array({{{"name", container}, {"containerID", "containerd://" + container_id}, {"ready", true}}})}}}};
}

}  // namespace sonde::testing
