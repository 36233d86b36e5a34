#include "exporter/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "exporter/prometheus_text.h"

namespace sonde {
namespace {

constexpr size_t kMaxRequestHead = 8192;

std::string StatusLine(int code) {
  switch (code) {
    case 200: return "200 OK";
    case 400: return "400 Bad Request";
    case 404: return "404 Not Found";
    case 405: return "405 Method Not Allowed";
    case 503: return "503 Service Unavailable";
    default: return std::to_string(code) + " Error";
  }
}

std::string Response(int code, const std::string& content_type, const std::string& body, bool head_only,
                     const std::string& extra_headers = {}) {
  std::string out = "HTTP/1.1 " + StatusLine(code) + "\r\n";
  out += "Content-Type: " + content_type + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\nConnection: close\r\n" + extra_headers + "\r\n";
  if (!head_only) out += body;
  return out;
}

void WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away; nothing to do
    off += static_cast<size_t>(n);
  }
}

}  // namespace

AdminServer::AdminServer(AdminServerOptions options, std::vector<MetricProducer*> producers)
    : options_(std::move(options)), producers_(std::move(producers)) {}

AdminServer::~AdminServer() { Stop(); }

bool AdminServer::Start(std::string* error) {
  if (thread_.joinable()) return true;
  sockaddr_storage ss = {};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  std::string addr = options_.bind_address;
  if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
  if (inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(options_.port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(options_.port);
    len = sizeof(sockaddr_in6);
  } else {
    *error = "admin server: '" + options_.bind_address + "' is not an IP address";
    return false;
  }
  const std::string where = options_.bind_address + ":" + std::to_string(options_.port);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = "admin server: socket: " + std::string(strerror(errno));
    return false;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 64) != 0) {
    *error = "admin server: cannot listen on " + where + ": " + strerror(errno);
    close(fd);
    return false;
  }
  len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  bound_port_ = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    *error = "admin server: eventfd: " + std::string(strerror(errno));
    close(fd);
    return false;
  }
  listen_fd_ = fd;
  thread_ = std::thread([this] { Run(); });
  spdlog::info("admin server listening on {}:{} (/metrics, /healthz)", options_.bind_address, bound_port_);
  return true;
}

void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  thread_.join();
  close(listen_fd_);
  close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

void AdminServer::Run() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("admin server: poll: {}", strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Serve(fd);
    close(fd);
  }
}

void AdminServer::Serve(int fd) {
  std::string head;
  auto deadline = std::chrono::steady_clock::now() + options_.read_timeout;
  while (head.find("\r\n\r\n") == std::string::npos && head.find("\n\n") == std::string::npos) {
    if (head.size() > kMaxRequestHead) {
      WriteAll(fd, Response(400, "text/plain", "request too large\n", false));
      return;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(p, 2, static_cast<int>(left.count()));
    if (n <= 0 || p[1].revents) return;  // timed out, or stopping
    char buf[2048];
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r <= 0) return;
    head.append(buf, static_cast<size_t>(r));
  }
  size_t eol = head.find_first_of("\r\n");
  std::string line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) {
    WriteAll(fd, Response(400, "text/plain", "bad request\n", false));
    return;
  }
  std::string method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string path = target.substr(0, target.find('?'));
  bool head_only = false;
  WriteAll(fd, Respond(method, path, &head_only));
}

std::string AdminServer::Respond(const std::string& method, const std::string& path, bool* head_only) {
  *head_only = method == "HEAD";
  if (method != "GET" && method != "HEAD")
    return Response(405, "text/plain", "method not allowed\n", false, "Allow: GET, HEAD\r\n");
  if (path == "/healthz") {
    return ready() ? Response(200, "text/plain", "ok\n", *head_only)
                   : Response(503, "text/plain", "not ready\n", *head_only);
  }
  if (path == "/metrics") {
    std::vector<MetricsSnapshot> snaps;
    snaps.reserve(producers_.size());
    for (MetricProducer* p : producers_) snaps.push_back(p->Collect());
    return Response(200, kPrometheusContentType, RenderPrometheus(snaps), *head_only);
  }
  if (path == "/") return Response(200, "text/plain", "sonde: /metrics /healthz\n", *head_only);
  return Response(404, "text/plain", "not found\n", *head_only);
}

}  // namespace sonde
