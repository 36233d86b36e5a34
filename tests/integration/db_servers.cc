#include "db_servers.h"

#include <dirent.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>

namespace sonde::testing {

std::string RunCommand(std::vector<std::string> argv, int* exit_code, milliseconds timeout) {
  Child c(argv);
  std::string out = c.ReadAll(timeout);
  int code = c.Wait(timeout);
  if (exit_code) *exit_code = code;
  return out;
}

RedisServer::RedisServer() : port_(FreePort()) {
  proc_ = std::make_unique<Child>(std::vector<std::string>{"redis-server", "--port", std::to_string(port_), "--bind",
                                                           "127.0.0.1", "--save", "", "--appendonly", "no"});
  if (!WaitForPort(port_, milliseconds(10000))) throw std::runtime_error("redis-server did not start");
}

std::string RedisServer::Cli(std::vector<std::string> args) {
  std::vector<std::string> argv = {"redis-cli", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

std::map<std::string, long> RedisServer::CommandCalls() {
  std::map<std::string, long> calls;
  std::istringstream is(Cli({"INFO", "commandstats"}));
  std::string line;
  while (std::getline(is, line)) {
    // cmdstat_set:calls=20000,usec=...
    if (line.rfind("cmdstat_", 0) != 0) continue;
    size_t colon = line.find(':');
    size_t eq = line.find("calls=");
    if (colon == std::string::npos || eq == std::string::npos) continue;
    calls[line.substr(8, colon - 8)] = std::stol(line.substr(eq + 6));
  }
  return calls;
}

std::string PostgresServer::BinDir() {
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
    std::string bin = e.path().string() + "/bin";
    if (std::filesystem::exists(bin + "/initdb")) return bin;
  }
  throw std::runtime_error("PostgreSQL server binaries not found under /usr/lib/postgresql (scripts/install-deps.sh installs them)");
}

PostgresServer::PostgresServer() : port_(FreePort()) {
  char tmpl[] = "/tmp/sonde-pg-XXXXXX";
  dir_ = mkdtemp(tmpl);
  passwd* pw = getpwnam("postgres");
  if (!pw) throw std::runtime_error("no 'postgres' user (the postgresql package creates it)");
  std::filesystem::create_directories(dir_ + "/data");
  for (const std::string& p : {dir_, dir_ + "/data"}) chown(p.c_str(), pw->pw_uid, pw->pw_gid);
  // PostgreSQL refuses to run as root: run it as the postgres user.
  std::vector<std::string> as_pg = {"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"};
  auto with = [&](std::vector<std::string> cmd) {
    std::vector<std::string> v = as_pg;
    v.insert(v.end(), cmd.begin(), cmd.end());
    return v;
  };
  int code = 0;
  RunCommand(with({BinDir() + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "postgres", "--no-sync"}), &code);
  if (code != 0) throw std::runtime_error("initdb failed");
  proc_ = std::make_unique<Child>(with({BinDir() + "/postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-k",
                                        dir_, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                                        "shared_preload_libraries=pg_stat_statements", "-c", "ssl=off"}),
                                  std::vector<std::string>{}, Child::Capture::kStderr);
  if (!proc_->WaitForLine("ready to accept connections", milliseconds(30000)))
    throw std::runtime_error("postgres did not start: " + proc_->seen());
  Psql("CREATE DATABASE shop", "postgres");
  Psql(
      "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);"
      "CREATE TABLE orders (id serial PRIMARY KEY, total integer NOT NULL);"
      "INSERT INTO users (name) VALUES ('ada'), ('grace'), ('linus');"
      "INSERT INTO orders (total) VALUES (10), (20), (30);"
      "CREATE EXTENSION pg_stat_statements;");
}

PostgresServer::~PostgresServer() {
  proc_.reset();  // SIGTERM: smart shutdown
  std::filesystem::remove_all(dir_);
}

std::string PostgresServer::Psql(const std::string& sql, const std::string& db) {
  return RunCommand({"psql", "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres", "-d", db,
              "-v", "ON_ERROR_STOP=1", "-c", sql});
}

}  // namespace sonde::testing
