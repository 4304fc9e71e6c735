// tests/tls/test_certs.h: a throwaway PKI for tests, generated with OpenSSL APIs.
//
// Used by tests/tls and by any test that needs TLS (link tls_test_certs_dep from
// tests/tls/meson.build). TestPki::Create() makes a fresh temporary directory holding PEM files:
//   ca.crt/ca.key            test CA "jitgate test CA"
//   server.crt/server.key    leaf signed by the CA: CN=localhost, SAN DNS:localhost, IP:127.0.0.1,
//                            extendedKeyUsage serverAuth
//   client.crt/client.key    leaf signed by the CA: CN=jitgate-test-client, clientAuth
//   other_ca.crt/other_ca.key  an unrelated CA (nothing is signed by it)
//   unrelated.key            a key matching no certificate (for key/cert mismatch tests)
// IssueLeaf() adds more leaves signed by ca.key (or self-signed). The destructor removes the
// directory. Keys are EC P-256 unless asked otherwise (fast to generate); certificates are valid
// from an hour ago for 30 days.
#ifndef JITGATE_TESTS_TLS_TEST_CERTS_H_
#define JITGATE_TESTS_TLS_TEST_CERTS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace jitgate::tls::testing {

enum class KeyType { kEcP256, kRsa2048, kEd25519 };
// Signature hash; ignored for Ed25519 (which has none).
enum class Digest { kSha256, kSha384, kSha512 };

struct LeafOptions {
  std::string file_stem;  // Writes <dir>/<file_stem>.crt and .key.
  std::string common_name = "localhost";
  std::vector<std::string> dns_names = {"localhost"};
  std::vector<std::string> ip_addresses = {"127.0.0.1"};
  KeyType key_type = KeyType::kEcP256;
  Digest digest = Digest::kSha256;
  bool server = true;  // extendedKeyUsage serverAuth, else clientAuth.
  // Signed by its own key (with key_type's algorithm) instead of the test CA.
  bool self_signed = false;
};

struct LeafFiles {
  std::string cert_path;
  std::string key_path;
};

class TestPki {
 public:
  // Generates everything listed in the file comment under a new directory in $TMPDIR (or /tmp).
  static absl::StatusOr<std::unique_ptr<TestPki>> Create();

  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  // A new leaf signed by the test CA (or by itself, see LeafOptions::self_signed).
  absl::StatusOr<LeafFiles> IssueLeaf(const LeafOptions& options);

  const std::string& dir() const { return dir_; }
  std::string ca_cert_path() const { return dir_ + "/ca.crt"; }
  std::string ca_key_path() const { return dir_ + "/ca.key"; }
  std::string server_cert_path() const { return dir_ + "/server.crt"; }
  std::string server_key_path() const { return dir_ + "/server.key"; }
  std::string client_cert_path() const { return dir_ + "/client.crt"; }
  std::string client_key_path() const { return dir_ + "/client.key"; }
  std::string other_ca_cert_path() const { return dir_ + "/other_ca.crt"; }
  std::string unrelated_key_path() const { return dir_ + "/unrelated.key"; }

 private:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
  long serial_next_ = 1;  // Serial numbers of issued certificates.
};

}  // namespace jitgate::tls::testing

#endif  // JITGATE_TESTS_TLS_TEST_CERTS_H_
