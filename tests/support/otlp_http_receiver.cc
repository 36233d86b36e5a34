#include "tests/support/otlp_http_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "google/rpc/status.pb.h"

namespace sonde::testing {
namespace {

namespace trace_collector = opentelemetry::proto::collector::trace::v1;
namespace metrics_collector = opentelemetry::proto::collector::metrics::v1;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

// One accepted connection, plaintext or TLS.
struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;

  ssize_t Read(char* buf, size_t n) {
    if (ssl) {
      int r = SSL_read(ssl, buf, static_cast<int>(n));
      return r > 0 ? r : -1;
    }
    ssize_t r;
    do r = recv(fd, buf, n, 0);
    while (r < 0 && errno == EINTR);
    return r > 0 ? r : -1;
  }
  bool Write(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n;
      if (ssl) {
        int r = SSL_write(ssl, data.data() + off, static_cast<int>(data.size() - off));
        n = r > 0 ? r : -1;
      } else {
        n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      }
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // Whether the client closed or sent something while we were not reading
  // (it gave up on the request it is waiting for).
  bool PeerGone() const {
    pollfd p = {fd, POLLIN | POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
  }
};

}  // namespace

bool GunzipForTest(const std::string& in, std::string* out) {
  z_stream zs = {};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return false;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  out->clear();
  char buf[16384];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return false;
    }
    out->append(buf, sizeof buf - zs.avail_out);
  } while (rc != Z_STREAM_END && (zs.avail_in > 0 || zs.avail_out == 0));
  inflateEnd(&zs);
  return rc == Z_STREAM_END;
}

struct OtlpHttpTestReceiver::Impl {
  OtlpHttpTestReceiverOptions options;
  int port = 0;
  SSL_CTX* ssl_ctx = nullptr;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::vector<ReceivedSpan> spans;
  std::vector<ReceivedMetricPoint> points;
  size_t metric_requests = 0;
  std::vector<ReceivedHttpRequest> requests;
  HttpReply default_reply;
  std::deque<HttpReply> scripted;
  int64_t rejected = 0;
  std::string partial_message;

  // Serving state, guarded by mu.
  bool stopping = false;
  int listen_fd = -1;
  int wake_fd = -1;
  std::thread acceptor;
  std::vector<std::thread> workers;
  std::vector<int> conn_fds;

  void Listen() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 64) != 0) {
      close(fd);
      throw std::runtime_error("OtlpHttpTestReceiver: cannot listen on port " + std::to_string(port) + ": " +
                               strerror(errno));
    }
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    std::lock_guard<std::mutex> lock(mu);
    stopping = false;
    listen_fd = fd;
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    acceptor = std::thread([this] { AcceptLoop(); });
  }

  void StopServing() {
    std::vector<std::thread> to_join;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (listen_fd < 0) return;
      stopping = true;
      uint64_t one = 1;
      (void)!write(wake_fd, &one, sizeof one);
      for (int fd : conn_fds) shutdown(fd, SHUT_RDWR);
    }
    cv.notify_all();
    acceptor.join();
    {
      std::lock_guard<std::mutex> lock(mu);
      to_join.swap(workers);
    }
    for (auto& t : to_join) t.join();
    std::lock_guard<std::mutex> lock(mu);
    close(listen_fd);
    close(wake_fd);
    listen_fd = wake_fd = -1;
  }

  void AcceptLoop() {
    for (;;) {
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) {
        close(fd);
        return;
      }
      conn_fds.push_back(fd);
      workers.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    timeval tv = {10, 0};  // a stuck client cannot hold a worker forever
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    Conn c;
    c.fd = fd;
    if (ssl_ctx) {
      c.ssl = SSL_new(ssl_ctx);
      SSL_set_fd(c.ssl, fd);
      if (SSL_accept(c.ssl) != 1) {
        Close(c);
        return;
      }
    }
    std::string buf;
    for (;;) {
      size_t head_end;
      while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
        char tmp[16384];
        ssize_t n = c.Read(tmp, sizeof tmp);
        if (n <= 0) return Close(c);
        buf.append(tmp, static_cast<size_t>(n));
      }
      ReceivedHttpRequest req;
      std::string head = buf.substr(0, head_end);
      buf.erase(0, head_end + 4);
      size_t eol = head.find("\r\n");
      std::string line = head.substr(0, eol);
      size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
      if (sp1 == std::string::npos || sp2 == std::string::npos) return Close(c);
      req.method = line.substr(0, sp1);
      req.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t pos = eol == std::string::npos ? head.size() : eol + 2;
      while (pos < head.size()) {
        size_t next = head.find("\r\n", pos);
        if (next == std::string::npos) next = head.size();
        std::string h = head.substr(pos, next - pos);
        size_t colon = h.find(':');
        if (colon != std::string::npos) req.headers.emplace(Lower(Trim(h.substr(0, colon))), Trim(h.substr(colon + 1)));
        pos = next + 2;
      }
      size_t length = 0;
      if (auto it = req.headers.find("content-length"); it != req.headers.end()) length = std::stoul(it->second);
      while (buf.size() < length) {
        char tmp[16384];
        ssize_t n = c.Read(tmp, sizeof tmp);
        if (n <= 0) return Close(c);
        buf.append(tmp, static_cast<size_t>(n));
      }
      std::string wire = buf.substr(0, length);
      buf.erase(0, length);
      req.wire_size = wire.size();
      auto enc = req.headers.find("content-encoding");
      req.gzip = enc != req.headers.end() && Lower(enc->second) == "gzip";
      bool decoded = true;
      if (req.gzip)
        decoded = GunzipForTest(wire, &req.body);
      else
        req.body = std::move(wire);
      if (!Answer(c, std::move(req), decoded)) return Close(c);
    }
  }

  void Close(Conn& c) {
    if (c.ssl) {
      SSL_shutdown(c.ssl);
      SSL_free(c.ssl);
      c.ssl = nullptr;
    }
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = conn_fds.begin(); it != conn_fds.end(); ++it) {
      if (*it == c.fd) {
        conn_fds.erase(it);
        break;
      }
    }
    close(c.fd);
  }

  // Returns false when the connection should be closed.
  bool Answer(Conn& c, ReceivedHttpRequest req, bool decoded) {
    HttpReply reply;
    {
      std::unique_lock<std::mutex> lock(mu);
      if (!scripted.empty()) {
        reply = scripted.front();
        scripted.pop_front();
      } else {
        reply = default_reply;
      }
      if (reply.delay.count() > 0) cv.wait_for(lock, reply.delay, [&] { return stopping; });
      if (stopping) return false;
    }
    // The client gave up while we slept: the answer would be lost, and this
    // receiver forgets the data too, so tests can count exactly.
    if (reply.delay.count() > 0 && c.PeerGone()) {
      std::lock_guard<std::mutex> lock(mu);
      req.answered = -1;
      requests.push_back(std::move(req));
      cv.notify_all();
      return false;
    }
    const bool traces = EndsWith(req.path, "/v1/traces");
    const bool metrics = EndsWith(req.path, "/v1/metrics");
    int status = reply.status;
    std::string body;
    std::string extra;
    // Held until the answer is written: Stop either finds the request
    // recorded and answered, or neither (an exporter sees no duplicates).
    std::unique_lock<std::mutex> lock(mu);
    if (stopping) return false;
    if (status >= 200 && status < 300) {
      trace_collector::ExportTraceServiceRequest treq;
      metrics_collector::ExportMetricsServiceRequest mreq;
      if (req.method != "POST" || (!traces && !metrics)) {
        status = 404;
      } else if (!decoded || (traces && !treq.ParseFromString(req.body)) ||
                 (metrics && !mreq.ParseFromString(req.body))) {
        status = 400;
      } else if (traces) {
        FlattenTraces(treq, requests.size(), &spans);
        trace_collector::ExportTraceServiceResponse resp;
        if (rejected > 0 || !partial_message.empty()) {
          resp.mutable_partial_success()->set_rejected_spans(rejected);
          resp.mutable_partial_success()->set_error_message(partial_message);
        }
        body = resp.SerializeAsString();
      } else {
        FlattenMetrics(mreq, requests.size(), &points);
        ++metric_requests;
        metrics_collector::ExportMetricsServiceResponse resp;
        if (rejected > 0 || !partial_message.empty()) {
          resp.mutable_partial_success()->set_rejected_data_points(rejected);
          resp.mutable_partial_success()->set_error_message(partial_message);
        }
        body = resp.SerializeAsString();
      }
    }
    if (status < 200 || status >= 300) {
      if (!reply.body.empty() && status == reply.status) {
        body = reply.body;
      } else {
        google::rpc::Status st;
        st.set_code(status == 400 ? 3 : 14);
        st.set_message(std::string("test receiver answered ") + std::to_string(status));
        body = st.SerializeAsString();
      }
      if (!reply.retry_after.empty()) extra += "Retry-After: " + reply.retry_after + "\r\n";
    }
    req.answered = status;
    requests.push_back(std::move(req));
    cv.notify_all();
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) + "\r\n" +
                      "Content-Type: application/x-protobuf\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\n" + extra + "\r\n" + body;
    return c.Write(out);
  }
};

OtlpHttpTestReceiver::OtlpHttpTestReceiver() : OtlpHttpTestReceiver(OtlpHttpTestReceiverOptions{}) {}

OtlpHttpTestReceiver::OtlpHttpTestReceiver(OtlpHttpTestReceiverOptions options) : impl_(std::make_unique<Impl>()) {
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the test binary
  impl_->options = std::move(options);
  impl_->port = impl_->options.port;
  if (impl_->options.tls) {
    const ReceiverTls& tls = *impl_->options.tls;
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, tls.server_cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls.server_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("OtlpHttpTestReceiver: cannot load the server certificate");
    if (!tls.client_ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1)
        throw std::runtime_error("OtlpHttpTestReceiver: cannot load the client CA");
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    impl_->ssl_ctx = ctx;
  }
  impl_->Listen();
}

OtlpHttpTestReceiver::~OtlpHttpTestReceiver() {
  impl_->StopServing();
  if (impl_->ssl_ctx) SSL_CTX_free(impl_->ssl_ctx);
}

int OtlpHttpTestReceiver::port() const { return impl_->port; }

std::string OtlpHttpTestReceiver::base_url() const {
  return std::string(impl_->options.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port);
}

std::vector<ReceivedSpan> OtlpHttpTestReceiver::Spans() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->spans;
}

std::vector<ReceivedMetricPoint> OtlpHttpTestReceiver::MetricPoints() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->points;
}

bool OtlpHttpTestReceiver::WaitForSpans(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->spans.size() >= n; });
}

bool OtlpHttpTestReceiver::WaitForMetricRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->metric_requests >= n; });
}

std::vector<ReceivedHttpRequest> OtlpHttpTestReceiver::Requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests;
}

size_t OtlpHttpTestReceiver::RequestCount() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests.size();
}

bool OtlpHttpTestReceiver::WaitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

void OtlpHttpTestReceiver::Clear() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->spans.clear();
  impl_->points.clear();
  impl_->requests.clear();
  impl_->metric_requests = 0;
}

void OtlpHttpTestReceiver::SetDefaultReply(HttpReply reply) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->default_reply = std::move(reply);
}

void OtlpHttpTestReceiver::PushReply(HttpReply reply) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->scripted.push_back(std::move(reply));
}

void OtlpHttpTestReceiver::SetPartialSuccess(int64_t rejected, std::string message) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->rejected = rejected;
  impl_->partial_message = std::move(message);
}

void OtlpHttpTestReceiver::Stop() { impl_->StopServing(); }

void OtlpHttpTestReceiver::Start() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->listen_fd >= 0) return;
  }
  impl_->Listen();
}

}  // namespace sonde::testing
