// Open-loop fixed-rate HTTP/1.1 load generator for sonde's overhead benchmark.
//
//   bench_loadgen --port P [--host 127.0.0.1] [--rate R] [--conns N]
//                 [--duration S] [--path /] [--hold S]
//
// N keep-alive connections, one request in flight per connection (no
// pipelining). Request i is due at t0 + i/R whatever happened before (open
// loop); when no connection is free it waits in a queue and its latency is
// counted from its due time, so a stalled server cannot hide its queueing
// (no coordinated omission). --hold keeps the connections open (idle) for S
// more seconds after the load, e.g. to measure memory with many connections.
// Prints one JSON object: achieved rate, completed, errors, p50/p99/max (µs).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  bool busy = false;
  bool connected = false;
  Clock::time_point due;  // when the request in flight was due
  std::string in;
  std::string out;
  size_t out_off = 0;
};

int Connect(const char* host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

// Length of the complete response at the start of `in`, 0 while incomplete.
size_t ResponseLength(const std::string& in) {
  size_t hdr = in.find("\r\n\r\n");
  if (hdr == std::string::npos) return 0;
  size_t body = 0;
  for (size_t p = 0; p < hdr;) {
    size_t e = in.find("\r\n", p);
    if (e == std::string::npos || e > hdr) e = hdr;
    if (e - p > 15 && strncasecmp(in.data() + p, "content-length:", 15) == 0) body = strtoul(in.data() + p + 15, nullptr, 10);
    p = e + 2;
  }
  size_t total = hdr + 4 + body;
  return in.size() >= total ? total : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  int port = 0, conns = 50;
  double rate = 1000, duration = 5, hold = 0;
  std::string path = "/";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--host") host = v;
    else if (k == "--port") port = atoi(v);
    else if (k == "--rate") rate = atof(v);
    else if (k == "--conns") conns = atoi(v);
    else if (k == "--duration") duration = atof(v);
    else if (k == "--path") path = v;
    else if (k == "--hold") hold = atof(v);
    else {
      fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  if (port <= 0 || rate <= 0 || conns <= 0 || duration <= 0 || duration > 3600 || hold < 0 || hold > 3600) {
    fprintf(stderr, "usage: %s --port P [--rate R] [--conns N] [--duration S] [--path /] [--hold S]\n", argv[0]);
    return 2;
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + std::string(host) + "\r\nUser-Agent: sonde-bench\r\n\r\n";
  int ep = epoll_create1(0);
  std::vector<Conn> cs(static_cast<size_t>(conns));
  for (size_t i = 0; i < cs.size(); ++i) {
    cs[i].fd = Connect(host, port);
    if (cs[i].fd < 0) {
      perror("connect");
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
  }
  // Wait until every connection is established (bounded: 10 s).
  auto deadline = Clock::now() + std::chrono::seconds(10);
  size_t up = 0;
  std::vector<epoll_event> evs(1024);
  while (up < cs.size() && Clock::now() < deadline) {
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    for (int j = 0; j < n; ++j) {
      Conn& c = cs[evs[j].data.u64];
      if (c.connected) continue;
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) {
        fprintf(stderr, "connect: %s\n", strerror(err));
        return 1;
      }
      c.connected = true;
      ++up;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = evs[j].data.u64;
      epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
    }
  }
  if (up < cs.size()) {
    fprintf(stderr, "only %zu of %zu connections established\n", up, cs.size());
    return 1;
  }

  std::vector<size_t> idle;
  for (size_t i = 0; i < cs.size(); ++i) idle.push_back(i);
  std::deque<Clock::time_point> queue;  // due times of requests waiting for a connection
  std::vector<uint32_t> lat_us;
  lat_us.reserve(static_cast<size_t>(rate * duration) + 16);
  uint64_t issued = 0, errors = 0;
  const auto t0 = Clock::now();
  const auto t_end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  auto send_on = [&](size_t i, Clock::time_point due) {
    Conn& c = cs[i];
    c.busy = true;
    c.due = due;
    ssize_t n = write(c.fd, request.data(), request.size());
    if (n != static_cast<ssize_t>(request.size())) {  // tiny requests: a short write means trouble
      ++errors;
      c.busy = false;
    }
  };
  char buf[65536];
  bool stop_issuing = false;
  // Drain phase: after t_end, wait at most 2 s for responses in flight.
  const auto t_drain = t_end + std::chrono::seconds(2);
  for (;;) {
    auto now = Clock::now();
    if (!stop_issuing) {
      while (true) {
        auto due = t0 + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(issued));
        if (due > now || due >= t_end) break;
        ++issued;
        queue.push_back(due);
      }
      if (now >= t_end) stop_issuing = true;
    }
    while (!queue.empty() && !idle.empty()) {
      size_t i = idle.back();
      idle.pop_back();
      send_on(i, queue.front());
      queue.pop_front();
    }
    size_t busy = cs.size() - idle.size();
    if (stop_issuing && (busy == 0 || now >= t_drain)) break;
    // Sleep until the next request is due (ns precision: epoll_pwait2), at most 10 ms.
    auto wait = std::chrono::nanoseconds(10'000'000);
    if (!stop_issuing) {
      auto next = t0 + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(issued));
      if (!queue.empty()) next = now + std::chrono::milliseconds(1);  // all connections busy: wait for a reply
      wait = std::clamp(std::chrono::duration_cast<std::chrono::nanoseconds>(next - now), std::chrono::nanoseconds(0), wait);
    }
    timespec ts{static_cast<time_t>(wait.count() / 1'000'000'000), static_cast<long>(wait.count() % 1'000'000'000)};
    int n = epoll_pwait2(ep, evs.data(), static_cast<int>(evs.size()), &ts, nullptr);
    auto t = Clock::now();
    for (int j = 0; j < n; ++j) {
      size_t i = evs[j].data.u64;
      Conn& c = cs[i];
      ssize_t r = read(c.fd, buf, sizeof(buf));
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        ++errors;
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        c.fd = -1;
        continue;  // connection gone: never idle again
      }
      c.in.append(buf, static_cast<size_t>(r));
      size_t len;
      while ((len = ResponseLength(c.in)) > 0) {
        c.in.erase(0, len);
        if (c.busy) {
          lat_us.push_back(static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(t - c.due).count()));
          c.busy = false;
          idle.push_back(i);
        }
      }
    }
  }
  auto elapsed = std::chrono::duration<double>(std::min(Clock::now(), t_end) - t0).count();
  if (hold > 0) {
    auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(hold));
    fprintf(stderr, "holding %d connections for %.0f s\n", conns, hold);
    while (Clock::now() < until) usleep(50000);
  }
  uint64_t unfinished = issued - lat_us.size();
  std::sort(lat_us.begin(), lat_us.end());
  auto pct = [&](double p) -> double {
    if (lat_us.empty()) return 0;
    size_t k = static_cast<size_t>(p * static_cast<double>(lat_us.size() - 1));
    return lat_us[k];
  };
  printf("{\"target_rps\": %.0f, \"rps\": %.1f, \"issued\": %llu, \"completed\": %zu, \"unfinished\": %llu, \"errors\": %llu, "
         "\"p50_us\": %.0f, \"p99_us\": %.0f, \"max_us\": %.0f, \"conns\": %d}\n",
         rate, static_cast<double>(lat_us.size()) / elapsed, static_cast<unsigned long long>(issued), lat_us.size(),
         static_cast<unsigned long long>(unfinished), static_cast<unsigned long long>(errors), pct(0.50), pct(0.99),
         lat_us.empty() ? 0.0 : lat_us.back(), conns);
  for (Conn& c : cs)
    if (c.fd >= 0) close(c.fd);
  return 0;
}
