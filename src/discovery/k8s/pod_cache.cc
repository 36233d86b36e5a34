#include "discovery/k8s/pod_cache.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "discovery/k8s/pod_json.h"

namespace sonde {

using nlohmann::json;

// One HTTP GET to the API server. A watch response is consumed line by line
// as it streams (one JSON event per line); anything else is buffered.
struct PodCacheTransfer {
  CURL* curl = nullptr;
  const std::atomic<bool>* stop = nullptr;
  std::function<bool(std::string_view)> on_line;  // set for watches; false aborts
  std::string body;
  std::string pending;
  long status = 0;
  bool aborted = false;

  static size_t Write(char* p, size_t size, size_t n, void* ud) {
    auto* t = static_cast<PodCacheTransfer*>(ud);
    size_t len = size * n;
    if (t->status == 0) curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    if (t->on_line && t->status == 200) {
      t->pending.append(p, len);
      size_t start = 0, nl;
      while ((nl = t->pending.find('\n', start)) != std::string::npos) {
        std::string_view line(t->pending.data() + start, nl - start);
        start = nl + 1;
        if (!line.empty() && !t->on_line(line)) {
          t->aborted = true;
          return 0;  // ends the transfer
        }
      }
      t->pending.erase(0, start);
      return len;
    }
    if (t->body.size() + len > (256u << 20)) return 0;  // a sane cap on one list page
    t->body.append(p, len);
    return len;
  }
  // libcurl calls this about once a second even on an idle watch, which is
  // what lets Stop() end a watch that receives nothing.
  static int Progress(void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<PodCacheTransfer*>(ud)->stop->load() ? 1 : 0;
  }
};

namespace {

std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string ReadToken(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  return t;
}

// Returns the libcurl result; the transfer holds status and body.
CURLcode Get(const KubeApiOptions& o, const std::string& path, long timeout_s, PodCacheTransfer* t) {
  CURL* c = curl_easy_init();
  if (!c) return CURLE_FAILED_INIT;
  t->curl = c;
  std::string url = o.api_server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += path;
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  std::string token = ReadToken(o.token_path);
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // a background thread: no SIGALRM for timeouts
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
  // A watch can sit silent for minutes; keepalives detect a dead node link.
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 10L);
  if (!o.ca_path.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_path.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &PodCacheTransfer::Write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &PodCacheTransfer::Progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
  CURLcode rc = curl_easy_perform(c);
  if (t->status == 0) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t->status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  t->curl = nullptr;
  return rc;
}

std::string PodsPath(const KubeApiOptions& o) {
  std::string p = "/api/v1/pods?";
  if (!o.node_name.empty()) p += "fieldSelector=" + UrlEncode("spec.nodeName=" + o.node_name) + "&";
  return p;
}

std::string MetaResourceVersion(const json& obj) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return {};
  auto rv = m->find("resourceVersion");
  return rv != m->end() && rv->is_string() ? rv->get<std::string>() : std::string();
}

}  // namespace

PodCache::PodCache(KubeApiOptions opts) : opts_(std::move(opts)) { curl_global_init(CURL_GLOBAL_DEFAULT); }

PodCache::~PodCache() { Stop(); }

void PodCache::Start() {
  if (thread_.joinable()) return;
  stop_.store(false);
  thread_ = std::thread([this] { Run(); });
}

void PodCache::Stop() {
  {
    std::lock_guard<std::mutex> l(wake_mu_);
    stop_.store(true);
  }
  wake_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool PodCache::WaitSynced(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(wake_mu_);
  return wake_cv_.wait_for(l, timeout, [&] { return synced_; });
}

void PodCache::Sleep(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> l(wake_mu_);
  wake_cv_.wait_for(l, d, [&] { return stop_.load(); });
}

void PodCache::CountError() {
  std::unique_lock l(mu_);
  ++stats_.errors;
}

void PodCache::Run() {
  auto backoff = opts_.min_backoff;
  auto grow = [&] { backoff = std::min(backoff * 2, opts_.max_backoff); };
  while (!stop_.load()) {
    if (!List()) {
      CountError();
      Sleep(backoff);
      grow();
      continue;
    }
    backoff = opts_.min_backoff;
    while (!stop_.load()) {
      auto t0 = std::chrono::steady_clock::now();
      WatchEnd end = Watch();
      if (end == WatchEnd::kGone) {
        // The resourceVersion is older than the server's history: only a
        // fresh list can tell which pods came and went meanwhile.
        std::unique_lock l(mu_);
        ++stats_.gone;
        break;
      }
      if (end == WatchEnd::kError) {
        CountError();
        Sleep(backoff);
        grow();
        continue;
      }
      // Ended normally (server timeout, or the connection dropped):
      // resume from the last resourceVersion, without hammering a server
      // that closes watches at once.
      backoff = opts_.min_backoff;
      if (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1)) Sleep(opts_.min_backoff);
    }
  }
}

bool PodCache::List() {
  std::vector<PodInfo> pods;
  std::string cont, rv;
  do {
    std::string path = PodsPath(opts_) + "limit=" + std::to_string(opts_.page_size);
    if (!cont.empty()) path += "&continue=" + UrlEncode(cont);
    PodCacheTransfer t;
    t.stop = &stop_;
    CURLcode rc = Get(opts_, path, 120, &t);
    if (stop_.load()) return false;
    if (rc != CURLE_OK || t.status != 200) {
      spdlog::warn("kubernetes: listing pods failed: {}", rc != CURLE_OK ? curl_easy_strerror(rc)
                                                                         : "HTTP " + std::to_string(t.status) + " " + t.body.substr(0, 200));
      return false;
    }
    json j = json::parse(t.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      spdlog::warn("kubernetes: pod list is not JSON");
      return false;
    }
    if (auto items = j.find("items"); items != j.end() && items->is_array()) {
      for (const json& item : *items) {
        PodInfo p;
        if (ParsePod(item, &p)) pods.push_back(std::move(p));
      }
    }
    rv = MetaResourceVersion(j);
    cont.clear();
    if (auto m = j.find("metadata"); m != j.end() && m->is_object() && m->contains("continue") &&
                                     (*m)["continue"].is_string())
      cont = (*m)["continue"].get<std::string>();
  } while (!cont.empty());
  size_t n = pods.size();
  ReplaceAll(std::move(pods));
  {
    std::unique_lock l(mu_);
    resource_version_ = rv;
    ++stats_.lists;
  }
  {
    std::lock_guard<std::mutex> l(wake_mu_);
    synced_ = true;
  }
  wake_cv_.notify_all();
  spdlog::debug("kubernetes: listed {} pods at resourceVersion {}", n, rv);
  return true;
}

PodCache::WatchEnd PodCache::Watch() {
  std::string rv = resource_version();
  std::string path = PodsPath(opts_) + "watch=1&allowWatchBookmarks=true&timeoutSeconds=" +
                     std::to_string(opts_.watch_timeout_s) + "&resourceVersion=" + UrlEncode(rv);
  WatchEnd end = WatchEnd::kClosed;
  PodCacheTransfer t;
  t.stop = &stop_;
  t.on_line = [&](std::string_view line) {
    json ev = json::parse(line, nullptr, false);
    if (ev.is_discarded() || !ev.is_object() || !ev.contains("object")) {
      end = WatchEnd::kError;
      return false;
    }
    std::string type = ev.value("type", "");
    const json& obj = ev["object"];
    if (type == "ERROR") {
      // A Status object; 410 means our resourceVersion has been compacted away.
      end = obj.is_object() && obj.value("code", 0) == 410 ? WatchEnd::kGone : WatchEnd::kError;
      return false;
    }
    std::string new_rv = obj.is_object() ? MetaResourceVersion(obj) : std::string();
    if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
      PodInfo p;
      if (ParsePod(obj, &p)) {
        if (type == "DELETED")
          Remove(p.uid);
        else
          Upsert(std::move(p));
        std::unique_lock l(mu_);
        ++stats_.events;
      }
    }
    if (!new_rv.empty()) {
      std::unique_lock l(mu_);
      resource_version_ = new_rv;  // BOOKMARK events only move this forward
    }
    return true;
  };
  {
    std::unique_lock l(mu_);
    ++stats_.watches;
  }
  CURLcode rc = Get(opts_, path, opts_.watch_timeout_s + 30, &t);
  if (t.aborted) return end;
  if (t.status == 410) return WatchEnd::kGone;
  if (stop_.load()) return WatchEnd::kClosed;
  if (t.status != 200) {
    spdlog::warn("kubernetes: watching pods failed: {}",
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP " + std::to_string(t.status));
    return WatchEnd::kError;
  }
  // A dropped connection mid-stream is a normal end: resume from the last version seen.
  return WatchEnd::kClosed;
}

void PodCache::IndexLocked(const std::shared_ptr<const PodInfo>& pod) {
  by_uid_[pod->uid] = pod;
  for (size_t i = 0; i < pod->containers.size(); ++i)
    if (!pod->containers[i].id.empty()) by_container_[pod->containers[i].id] = {pod, i};
}

void PodCache::UnindexLocked(const std::string& uid) {
  auto it = by_uid_.find(uid);
  if (it == by_uid_.end()) return;
  for (const PodContainer& c : it->second->containers) {
    auto ci = by_container_.find(c.id);
    if (!c.id.empty() && ci != by_container_.end() && ci->second.first->uid == uid) by_container_.erase(ci);
  }
  by_uid_.erase(it);
}

void PodCache::ReplaceAll(std::vector<PodInfo> pods) {
  std::unique_lock l(mu_);
  by_uid_.clear();
  by_container_.clear();
  for (PodInfo& p : pods) IndexLocked(std::make_shared<const PodInfo>(std::move(p)));
  generation_.fetch_add(1);
}

void PodCache::Upsert(PodInfo pod) {
  std::unique_lock l(mu_);
  UnindexLocked(pod.uid);
  IndexLocked(std::make_shared<const PodInfo>(std::move(pod)));
  generation_.fetch_add(1);
}

void PodCache::Remove(const std::string& uid) {
  std::unique_lock l(mu_);
  UnindexLocked(uid);
  generation_.fetch_add(1);
}

std::optional<PodMeta> PodCache::ForContainer(const std::string& id) const {
  std::shared_lock l(mu_);
  auto it = by_container_.find(id);
  if (it == by_container_.end()) return std::nullopt;
  const auto& [pod, index] = it->second;
  PodMeta m;
  m.pod = *pod;
  m.container_name = pod->containers[index].name;
  m.container_otel_service_name = pod->containers[index].otel_service_name;
  return m;
}

std::optional<PodInfo> PodCache::ForPodUid(const std::string& uid) const {
  std::shared_lock l(mu_);
  auto it = by_uid_.find(uid);
  if (it == by_uid_.end()) return std::nullopt;
  return *it->second;
}

size_t PodCache::size() const {
  std::shared_lock l(mu_);
  return by_uid_.size();
}

PodCacheStats PodCache::stats() const {
  std::shared_lock l(mu_);
  return stats_;
}

std::string PodCache::resource_version() const {
  std::shared_lock l(mu_);
  return resource_version_;
}

}  // namespace sonde
