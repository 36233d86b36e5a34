#include "tests/support/test_certs.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace sonde::testing {
namespace {

void Run(const std::string& cmd) {
  std::string full = cmd + " >/dev/null 2>&1";
  if (std::system(full.c_str()) != 0) throw std::runtime_error("test certificates: command failed: " + cmd);
}

TestCertificates Make() {
  char tmpl[] = "/tmp/sonde-certs-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("test certificates: mkdtemp failed");
  TestCertificates c;
  c.dir = tmpl;
  const std::string d = c.dir + "/";
  c.ca_cert = d + "ca.crt";
  c.server_cert = d + "server.crt";
  c.server_key = d + "server.key";
  c.client_cert = d + "client.crt";
  c.client_key = d + "client.key";
  c.other_ca_cert = d + "other-ca.crt";
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  Run("openssl req -x509 " + ec + " -keyout " + d + "ca.key -out " + c.ca_cert +
      " -days 2 -subj /CN=sonde-test-ca -addext basicConstraints=critical,CA:TRUE"
      " -addext keyUsage=critical,keyCertSign,cRLSign");
  Run("openssl req -x509 " + ec + " -keyout " + d + "other-ca.key -out " + c.other_ca_cert +
      " -days 2 -subj /CN=sonde-other-ca");
  auto leaf = [&](const std::string& name, const std::string& ext) {
    Run("openssl req " + ec + " -keyout " + d + name + ".key -out " + d + name + ".csr -subj /CN=" + name);
    std::ofstream(d + name + ".ext") << ext;
    Run("openssl x509 -req -in " + d + name + ".csr -CA " + c.ca_cert + " -CAkey " + d +
        "ca.key -CAcreateserial -days 2 -out " + d + name + ".crt -extfile " + d + name + ".ext");
  };
  leaf("server",
       "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
       "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n");
  leaf("client",
       "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n");
  return c;
}

}  // namespace

const TestCertificates& GetTestCertificates() {
  static std::once_flag once;
  static TestCertificates certs;
  std::call_once(once, [] {
    certs = Make();
    std::atexit([] { if (std::system(("rm -rf '" + certs.dir + "'").c_str()) != 0) return; });
  });
  return certs;
}

}  // namespace sonde::testing
