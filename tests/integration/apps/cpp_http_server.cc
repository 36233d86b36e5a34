// A small thread-per-connection HTTP/1.1 keep-alive server in C++, standing
// in for a native service in sonde's integration tests and benchmark. It uses
// plain read()/write() on sockets, like most native servers. TCP_NODELAY:
// without it the separate header and body writes meet the client's delayed
// ACK and every request waits ~40 ms, which measures TCP, not the server.
#include <csignal>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

bool WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void Serve(int fd) {
  std::string buf;
  char tmp[65536];
  for (;;) {
    size_t hdr_end;
    while ((hdr_end = buf.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = read(fd, tmp, sizeof(tmp));
      if (n <= 0) {
        close(fd);
        return;
      }
      buf.append(tmp, static_cast<size_t>(n));
    }
    std::string head = buf.substr(0, hdr_end);
    size_t content_length = 0;
    const char* cl = strcasestr(head.c_str(), "\r\nContent-Length:");
    if (cl) content_length = strtoul(cl + 17, nullptr, 10);
    size_t need = hdr_end + 4 + content_length;
    while (buf.size() < need) {
      ssize_t n = read(fd, tmp, sizeof(tmp));
      if (n <= 0) {
        close(fd);
        return;
      }
      buf.append(tmp, static_cast<size_t>(n));
    }
    std::string target = head.substr(head.find(' ') + 1);
    target = target.substr(0, target.find(' '));
    std::string body, status = "200 OK";
    if (target.rfind("/big", 0) == 0) {
      body.assign(1 << 20, 'z');
    } else if (target.rfind("/upload", 0) == 0) {
      body = "{\"received\":" + std::to_string(content_length) + "}";
    } else if (target.rfind("/teapot", 0) == 0) {
      status = "418 I'm a teapot";
      body = "short and stout";
    } else {
      body = "{\"ok\":true}";
    }
    std::string resp = "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n";
    // Headers and body in separate writes, as many servers do.
    if (!WriteAll(fd, resp) || !WriteAll(fd, body)) {
      close(fd);
      return;
    }
    buf.erase(0, need);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A client that closes while a response is being written (wrk at the end
  // of a run) must cost that connection, not the server: as real servers do.
  signal(SIGPIPE, SIG_IGN);
  int port = argc > 1 ? atoi(argv[1]) : 8080;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(ls, 4096) != 0) {
    perror("bind/listen");
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  for (;;) {
    int fd = accept(ls, nullptr, nullptr);
    if (fd < 0) continue;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::thread(Serve, fd).detach();
  }
}
