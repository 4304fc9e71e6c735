// src/auth/mint.cc: see mint.h. OpenSSL 3.0 EVP only (EVP_RSA_gen, EVP_EC_gen,
// EVP_PKEY_get_bn_param, EVP_DigestSign).
#include "src/auth/mint.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "jitgate/status_macros.h"
#include "src/auth/jwt.h"

namespace jitgate::auth {
namespace {

constexpr size_t kP256CoordinateSize = 32;

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

std::string OpenSslError() {
  char text[256];
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "unknown OpenSSL error";
  }
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

bool IsRsa(EVP_PKEY* key) { return EVP_PKEY_is_a(key, "RSA") == 1; }
bool IsEc(EVP_PKEY* key) { return EVP_PKEY_is_a(key, "EC") == 1; }

absl::StatusOr<std::string> BnParam(EVP_PKEY* key, const char* name, int pad_size) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("key has no ", name, ": ", OpenSslError()));
  }
  BnPtr bn(raw);
  const int size = pad_size > 0 ? pad_size : BN_num_bytes(bn.get());
  std::string bytes(static_cast<size_t>(size), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()), size) != size) {
    return absl::InvalidArgumentError(absl::StrCat("key parameter ", name, " is too large"));
  }
  return bytes;
}

// The RFC 7638 required members of the public key, base64url-encoded.
struct PublicParts {
  bool rsa = false;
  std::string n, e;  // RSA
  std::string x, y;  // EC P-256
};

absl::StatusOr<PublicParts> GetPublicParts(EVP_PKEY* key) {
  PublicParts parts;
  if (IsRsa(key)) {
    parts.rsa = true;
    JG_ASSIGN_OR_RETURN(const std::string n, BnParam(key, OSSL_PKEY_PARAM_RSA_N, 0));
    JG_ASSIGN_OR_RETURN(const std::string e, BnParam(key, OSSL_PKEY_PARAM_RSA_E, 0));
    parts.n = Base64UrlEncode(n);
    parts.e = Base64UrlEncode(e);
    return parts;
  }
  if (IsEc(key)) {
    char group[64];
    size_t group_size = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &group_size) != 1 ||
        std::string_view(group, group_size) != "prime256v1") {
      return absl::InvalidArgumentError("EC key is not on P-256");
    }
    JG_ASSIGN_OR_RETURN(const std::string x,
                        BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, kP256CoordinateSize));
    JG_ASSIGN_OR_RETURN(const std::string y,
                        BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, kP256CoordinateSize));
    parts.x = Base64UrlEncode(x);
    parts.y = Base64UrlEncode(y);
    return parts;
  }
  return absl::InvalidArgumentError("key is neither RSA nor EC");
}

// Raw r || s (32 bytes each) from a DER ECDSA signature.
absl::StatusOr<std::string> DerToEs256(std::string_view der) {
  const auto* in = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(
      d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (sig == nullptr) {
    return absl::InternalError("cannot decode the ECDSA signature");
  }
  std::string raw(2 * kP256CoordinateSize, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, kP256CoordinateSize) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + kP256CoordinateSize, kP256CoordinateSize) <
          0) {
    return absl::InternalError("ECDSA signature component too large");
  }
  return raw;
}

}  // namespace

absl::StatusOr<EvpPkeyPtr> GenerateRsaKey(int bits) {
  EvpPkeyPtr key(EVP_RSA_gen(static_cast<unsigned int>(bits)));
  if (key == nullptr) {
    return absl::InternalError(absl::StrCat("RSA key generation failed: ", OpenSslError()));
  }
  return key;
}

absl::StatusOr<EvpPkeyPtr> GenerateEcP256Key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) {
    return absl::InternalError(absl::StrCat("EC key generation failed: ", OpenSslError()));
  }
  return key;
}

absl::StatusOr<picojson::object> PublicJwk(EVP_PKEY* key, std::string_view kid,
                                           std::string_view issuer) {
  JG_ASSIGN_OR_RETURN(const PublicParts parts, GetPublicParts(key));
  picojson::object jwk;
  jwk["use"] = picojson::value("sig");
  jwk["kid"] = picojson::value(std::string(kid));
  if (parts.rsa) {
    jwk["kty"] = picojson::value("RSA");
    jwk["alg"] = picojson::value("RS256");
    jwk["n"] = picojson::value(parts.n);
    jwk["e"] = picojson::value(parts.e);
  } else {
    jwk["kty"] = picojson::value("EC");
    jwk["alg"] = picojson::value("ES256");
    jwk["crv"] = picojson::value("P-256");
    jwk["x"] = picojson::value(parts.x);
    jwk["y"] = picojson::value(parts.y);
  }
  if (!issuer.empty()) {
    jwk["issuer"] = picojson::value(std::string(issuer));
  }
  return jwk;
}

absl::StatusOr<std::string> JwksJson(const std::vector<std::pair<std::string, EVP_PKEY*>>& keys) {
  picojson::array array;
  for (const auto& [kid, key] : keys) {
    JG_ASSIGN_OR_RETURN(picojson::object jwk, PublicJwk(key, kid));
    array.emplace_back(std::move(jwk));
  }
  picojson::object root;
  root["keys"] = picojson::value(std::move(array));
  return picojson::value(std::move(root)).serialize(/*prettify=*/true);
}

absl::StatusOr<std::string> KeyThumbprint(EVP_PKEY* key) {
  JG_ASSIGN_OR_RETURN(const PublicParts parts, GetPublicParts(key));
  // RFC 7638 s3.2: required members only, sorted, no whitespace.
  const std::string members =
      parts.rsa ? absl::StrCat("{\"e\":\"", parts.e, "\",\"kty\":\"RSA\",\"n\":\"", parts.n, "\"}")
                : absl::StrCat("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"", parts.x, "\",\"y\":\"",
                               parts.y, "\"}");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(members.data(), members.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    return absl::InternalError(absl::StrCat("SHA-256 failed: ", OpenSslError()));
  }
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

absl::Status WritePrivateKeyPem(const std::string& path, EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError(absl::StrCat("cannot encode the key: ", OpenSslError()));
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", path, ": ", strerror(errno),
                     errno == EEXIST ? " (remove it first to make a new key)" : ""));
  }
  const bool written = fchmod(fd, 0600) == 0 && write(fd, data, static_cast<size_t>(size)) == size;
  const int saved_errno = errno;
  close(fd);
  if (!written) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", strerror(saved_errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<EvpPkeyPtr> ReadPrivateKeyPem(const std::string& path) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) {
    ERR_clear_error();
    return absl::NotFoundError(absl::StrCat("cannot open ", path));
  }
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no PEM private key: ", OpenSslError()));
  }
  return key;
}

absl::StatusOr<std::string> SignJwsJson(std::string_view header_json, std::string_view payload_json,
                                        EVP_PKEY* key) {
  const std::string signing_input =
      absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload_json));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  size_t size = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return absl::InternalError(absl::StrCat("cannot sign: ", OpenSslError()));
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return absl::InternalError(absl::StrCat("cannot sign: ", OpenSslError()));
  }
  signature.resize(size);
  if (IsEc(key)) {
    JG_ASSIGN_OR_RETURN(signature, DerToEs256(signature));
  }
  return absl::StrCat(signing_input, ".", Base64UrlEncode(signature));
}

absl::StatusOr<std::string> SignJws(const picojson::object& header, const picojson::object& payload,
                                    EVP_PKEY* key) {
  return SignJwsJson(picojson::value(header).serialize(), picojson::value(payload).serialize(),
                     key);
}

}  // namespace jitgate::auth
