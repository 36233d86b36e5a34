#include "fake_api_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace sonde::testing {

using nlohmann::json;

// One accepted connection, plain or TLS.
struct FakeApiServer::Conn {
  int fd;
  SSL* ssl = nullptr;
  int Read(char* b, int n) { return ssl ? SSL_read(ssl, b, n) : static_cast<int>(::read(fd, b, n)); }
  bool Write(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      int n = ssl ? SSL_write(ssl, s.data() + off, static_cast<int>(s.size() - off))
                  : static_cast<int>(::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL));
      if (n <= 0) return false;
      off += n;
    }
    return true;
  }
  ~Conn() {
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
    ::close(fd);
  }
};

namespace {

std::string Query(const std::string& target, const std::string& key) {
  size_t q = target.find('?');
  if (q == std::string::npos) return {};
  std::string qs = target.substr(q + 1);
  size_t pos = 0;
  while (pos <= qs.size()) {
    size_t amp = qs.find('&', pos);
    if (amp == std::string::npos) amp = qs.size();
    std::string kv = qs.substr(pos, amp - pos);
    if (kv.rfind(key + "=", 0) == 0) return kv.substr(key.size() + 1);
    pos = amp + 1;
  }
  return {};
}

// fieldSelector=spec.nodeName%3D<node>, the only selector sonde sends.
bool OnNode(const std::string& target, const json& pod) {
  std::string fs = Query(target, "fieldSelector");
  const std::string prefix = "spec.nodeName%3D";
  if (fs.rfind(prefix, 0) != 0) return true;
  return pod["spec"].value("nodeName", "") == fs.substr(prefix.size());
}

std::string Chunk(const std::string& s) {
  char len[32];
  snprintf(len, sizeof(len), "%zx\r\n", s.size());
  return len + s + "\r\n";
}

}  // namespace

FakeApiServer::FakeApiServer(const std::string& cert, const std::string& key) {
  if (!cert.empty()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_file(ctx, cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("fake API server: bad certificate or key");
    ssl_ctx_ = ctx;
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(listen_fd_, 16) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("fake API server: cannot listen");
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

FakeApiServer::~FakeApiServer() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  acceptor_.join();
  for (auto& t : workers_) t.join();
  ::close(listen_fd_);
  if (ssl_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

std::string FakeApiServer::url() const {
  return std::string(ssl_ctx_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

void FakeApiServer::Event(const char* type, json pod) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t rv = ++rv_;
  pod["metadata"]["resourceVersion"] = std::to_string(rv);
  std::string uid = pod["metadata"]["uid"];
  if (std::string(type) == "DELETED")
    pods_.erase(uid);
  else
    pods_[uid] = pod;
  history_.push_back({rv, json{{"type", type}, {"object", pod}}.dump()});
  cv_.notify_all();
}

void FakeApiServer::AddPod(json pod) { Event("ADDED", std::move(pod)); }
void FakeApiServer::ModifyPod(json pod) { Event("MODIFIED", std::move(pod)); }
void FakeApiServer::DeletePod(const std::string& uid) {
  json pod;
  {
    std::lock_guard<std::mutex> l(mu_);
    pod = pods_.at(uid);
  }
  Event("DELETED", std::move(pod));
}

void FakeApiServer::DropWatches() {
  std::lock_guard<std::mutex> l(mu_);
  ++drop_generation_;
  cv_.notify_all();
}

void FakeApiServer::CompactHistory() {
  std::lock_guard<std::mutex> l(mu_);
  compacted_rv_ = rv_;
  history_.clear();
}

void FakeApiServer::SetAvailable(bool available) {
  std::lock_guard<std::mutex> l(mu_);
  available_ = available;
}

std::vector<FakeApiServer::Request> FakeApiServer::requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}

void FakeApiServer::Accept() {
  while (!stop_.load()) {
    pollfd p = {listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FakeApiServer::Serve(int fd) {
  Conn c{fd};
  if (ssl_ctx_) {
    c.ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    SSL_set_fd(c.ssl, fd);
    if (SSL_accept(c.ssl) != 1) return;
  }
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos) {
    int n = c.Read(buf, sizeof(buf));
    if (n <= 0) return;
    req.append(buf, n);
  }
  Request r;
  size_t sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
  r.target = req.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t auth = req.find("Authorization: ");
  if (auth != std::string::npos) r.authorization = req.substr(auth + 15, req.find("\r\n", auth) - auth - 15);
  std::unique_lock<std::mutex> l(mu_);
  requests_.push_back(r);
  if (!available_) {
    l.unlock();
    std::string body = R"({"kind":"Status","apiVersion":"v1","status":"Failure","code":503})";
    c.Write("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    return;
  }

  if (Query(r.target, "watch") != "1") {
    json list = {{"kind", "PodList"}, {"apiVersion", "v1"},
                 {"metadata", {{"resourceVersion", std::to_string(rv_)}}}, {"items", json::array()}};
    for (const auto& [uid, pod] : pods_)
      if (OnNode(r.target, pod)) list["items"].push_back(pod);
    l.unlock();
    std::string body = list.dump();
    c.Write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\nConnection: close\r\n\r\n" + body);
    return;
  }

  uint64_t from = std::stoull(Query(r.target, "resourceVersion").empty() ? "0" : Query(r.target, "resourceVersion"));
  if (!c.Write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
               "Connection: close\r\n\r\n"))
    return;
  if (from < compacted_rv_) {
    // What the API server sends when the version is older than etcd keeps.
    json status = {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                   {"message", "too old resource version: " + std::to_string(from)},
                   {"reason", "Expired"}, {"code", 410}};
    std::string line = json{{"type", "ERROR"}, {"object", status}}.dump() + "\n";
    l.unlock();
    c.Write(Chunk(line) + "0\r\n\r\n");
    return;
  }
  ++open_watches_;
  uint64_t gen = drop_generation_;
  for (;;) {
    std::string out;
    for (const auto& [rv, line] : history_) {
      if (rv <= from) continue;
      json ev = json::parse(line);
      if (OnNode(r.target, ev["object"])) out += Chunk(line + "\n");
      from = rv;
    }
    if (!out.empty()) {
      l.unlock();
      bool ok = c.Write(out);
      l.lock();
      if (!ok) break;
    }
    cv_.wait_for(l, std::chrono::milliseconds(100));
    // Dropped: close without the final chunk, as a broken connection does.
    if (stop_.load() || gen != drop_generation_) break;
  }
  --open_watches_;
}

}  // namespace sonde::testing
