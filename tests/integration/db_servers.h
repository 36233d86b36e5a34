// Real Redis and PostgreSQL servers for the database integration tests, on
// 127.0.0.1 and non-default ports, in temporary directories.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace sonde::testing {

// Runs a command to completion; returns its stdout (stderr passes through).
std::string RunCommand(std::vector<std::string> argv, int* exit_code = nullptr, milliseconds timeout = milliseconds(60000));

class RedisServer {
 public:
  RedisServer();
  uint16_t port() const { return port_; }
  pid_t pid() const { return proc_->pid(); }
  std::string Cli(std::vector<std::string> args);
  // calls per command from INFO commandstats ("set" -> 20000).
  std::map<std::string, long> CommandCalls();

 private:
  uint16_t port_;
  std::unique_ptr<Child> proc_;
};

class PostgresServer {
 public:
  PostgresServer();  // initdb + start; creates database "shop" with tables users and orders
  ~PostgresServer();
  uint16_t port() const { return port_; }
  pid_t pid() const { return proc_->pid(); }  // the postmaster; backends are its children
  std::string Psql(const std::string& sql, const std::string& db = "shop");
  const std::string& dir() const { return dir_; }
  static std::string BinDir();

 private:
  uint16_t port_;
  std::string dir_;
  std::unique_ptr<Child> proc_;
};

}  // namespace sonde::testing
