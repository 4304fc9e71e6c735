// tests/tls/test_certs.cc: generates the test PKI (see test_certs.h) with OpenSSL 3.0 APIs.
#include "tests/tls/test_certs.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jitgate/status_macros.h"

namespace jitgate::tls::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

absl::Status OpenSslFailure(const std::string& what) {
  char text[256] = "unknown";
  const unsigned long code = ERR_get_error();
  if (code != 0) {
    ERR_error_string_n(code, text, sizeof(text));
  }
  ERR_clear_error();
  return absl::InternalError("test_certs: " + what + ": " + text);
}

absl::StatusOr<PkeyPtr> GenerateKey(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::kEcP256:
      key = EVP_EC_gen("P-256");
      break;
    case KeyType::kRsa2048:
      key = EVP_RSA_gen(2048);
      break;
    case KeyType::kEd25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (key == nullptr) {
    return OpenSslFailure("key generation");
  }
  return PkeyPtr(key);
}

const EVP_MD* DigestFor(KeyType key_type, Digest digest) {
  if (key_type == KeyType::kEd25519) {
    return nullptr;  // EdDSA signs the message itself.
  }
  switch (digest) {
    case Digest::kSha256:
      return EVP_sha256();
    case Digest::kSha384:
      return EVP_sha384();
    case Digest::kSha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (extension == nullptr) {
    return OpenSslFailure("extension " + value);
  }
  const int ok = X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  if (ok != 1) {
    return OpenSslFailure("X509_add_ext");
  }
  return absl::OkStatus();
}

// Builds a certificate for `key` named `common_name`, signed by issuer_key (self-signed when
// issuer is null). Extensions come from `extensions` (NID, config value).
absl::StatusOr<X509Ptr> MakeCertificate(
    EVP_PKEY* key, const std::string& common_name, long serial, X509* issuer, EVP_PKEY* issuer_key,
    const EVP_MD* md, const std::vector<std::pair<int, std::string>>& extensions) {
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslFailure("X509 fields");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return OpenSslFailure("subject name");
  }
  X509* signer = issuer == nullptr ? cert.get() : issuer;
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1) {
    return OpenSslFailure("issuer name");
  }
  for (const auto& [nid, value] : extensions) {
    JG_RETURN_IF_ERROR(AddExtension(cert.get(), signer, nid, value));
  }
  if (X509_sign(cert.get(), issuer_key == nullptr ? key : issuer_key, md) <= 0) {
    return OpenSslFailure("X509_sign");
  }
  return cert;
}

absl::Status WriteCert(const std::string& path, X509* cert) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return absl::InternalError("test_certs: cannot create " + path);
  }
  const int ok = PEM_write_X509(file, cert);
  std::fclose(file);
  return ok == 1 ? absl::OkStatus() : OpenSslFailure("PEM_write_X509 " + path);
}

absl::Status WriteKey(const std::string& path, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return absl::InternalError("test_certs: cannot create " + path);
  }
  const int ok = PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(file);
  return ok == 1 ? absl::OkStatus() : OpenSslFailure("PEM_write_PrivateKey " + path);
}

std::vector<std::pair<int, std::string>> CaExtensions() {
  return {{NID_basic_constraints, "critical,CA:TRUE"},
          {NID_key_usage, "critical,keyCertSign,cRLSign"},
          {NID_subject_key_identifier, "hash"}};
}

absl::StatusOr<X509Ptr> ReadCert(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) {
    return absl::InternalError("test_certs: cannot open " + path);
  }
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (cert == nullptr) {
    return OpenSslFailure("PEM_read_X509 " + path);
  }
  return X509Ptr(cert);
}

absl::StatusOr<PkeyPtr> ReadKey(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) {
    return absl::InternalError("test_certs: cannot open " + path);
  }
  EVP_PKEY* key = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (key == nullptr) {
    return OpenSslFailure("PEM_read_PrivateKey " + path);
  }
  return PkeyPtr(key);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestPki>> TestPki::Create() {
  const char* tmp = getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp") + "/jitgate_tls_test_XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError("test_certs: mkdtemp failed for " + pattern);
  }
  std::unique_ptr<TestPki> pki(new TestPki(pattern));

  for (const bool other : {false, true}) {
    JG_ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey(KeyType::kEcP256));
    JG_ASSIGN_OR_RETURN(
        X509Ptr cert,
        MakeCertificate(key.get(), other ? "unrelated test CA" : "jitgate test CA",
                        pki->serial_next_++, nullptr, nullptr, EVP_sha256(), CaExtensions()));
    const std::string stem = pki->dir_ + (other ? "/other_ca" : "/ca");
    JG_RETURN_IF_ERROR(WriteCert(stem + ".crt", cert.get()));
    JG_RETURN_IF_ERROR(WriteKey(stem + ".key", key.get()));
  }
  LeafOptions server;
  server.file_stem = "server";
  JG_RETURN_IF_ERROR(pki->IssueLeaf(server).status());
  LeafOptions client;
  client.file_stem = "client";
  client.common_name = "jitgate-test-client";
  client.dns_names.clear();
  client.ip_addresses.clear();
  client.server = false;
  JG_RETURN_IF_ERROR(pki->IssueLeaf(client).status());
  JG_ASSIGN_OR_RETURN(PkeyPtr unrelated, GenerateKey(KeyType::kEcP256));
  JG_RETURN_IF_ERROR(WriteKey(pki->unrelated_key_path(), unrelated.get()));
  return pki;
}

TestPki::~TestPki() {
  std::error_code error;
  std::filesystem::remove_all(dir_, error);  // Best effort.
}

absl::StatusOr<LeafFiles> TestPki::IssueLeaf(const LeafOptions& options) {
  JG_ASSIGN_OR_RETURN(X509Ptr ca_cert, ReadCert(ca_cert_path()));
  JG_ASSIGN_OR_RETURN(PkeyPtr ca_key, ReadKey(ca_key_path()));
  JG_ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey(options.key_type));
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, options.server ? "serverAuth" : "clientAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
  };
  std::string san;
  for (const std::string& dns : options.dns_names) {
    san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  }
  for (const std::string& ip : options.ip_addresses) {
    san += (san.empty() ? "IP:" : ",IP:") + ip;
  }
  if (!san.empty()) {
    extensions.emplace_back(NID_subject_alt_name, san);
  }
  // The signer's key type decides whether a digest applies (the CA's key is EC P-256).
  const EVP_MD* md =
      DigestFor(options.self_signed ? options.key_type : KeyType::kEcP256, options.digest);
  JG_ASSIGN_OR_RETURN(
      X509Ptr cert, MakeCertificate(key.get(), options.common_name, serial_next_++,
                                    options.self_signed ? nullptr : ca_cert.get(),
                                    options.self_signed ? nullptr : ca_key.get(), md, extensions));
  LeafFiles files{dir_ + "/" + options.file_stem + ".crt", dir_ + "/" + options.file_stem + ".key"};
  JG_RETURN_IF_ERROR(WriteCert(files.cert_path, cert.get()));
  JG_RETURN_IF_ERROR(WriteKey(files.key_path, key.get()));
  return files;
}

}  // namespace jitgate::tls::testing
