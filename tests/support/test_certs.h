// Certificates for TLS tests, made fresh by the openssl command-line tool
// (Debian's openssl package) in a temporary directory: a CA, a server
// certificate for localhost / 127.0.0.1 signed by it, a client certificate
// signed by it (mTLS), and a second, unrelated CA a client must not trust.
#pragma once

#include <string>

namespace sonde::testing {

struct TestCertificates {
  std::string dir;
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  std::string other_ca_cert;  // signed nothing here
};

// Generates them once per process (later calls return the same files).
// Throws std::runtime_error when openssl fails or is missing.
const TestCertificates& GetTestCertificates();

}  // namespace sonde::testing
