// src/auth/keys.cc: see keys.h. Keys are built from their JWK parameters with OSSL_PARAM_BLD and
// EVP_PKEY_fromdata (OpenSSL 3.0; no deprecated RSA_*/EC_KEY_* calls).
#include "src/auth/keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "jitgate/check.h"
#include "jitgate/status_macros.h"
#include "src/auth/https_fetch.h"
#include "src/auth/jwt.h"
#include "src/common/log.h"

namespace jitgate::auth {
namespace {

// P-256 coordinates are 32 bytes (SEC 1 s2.3.5; RFC 7518 s6.2.1.2 requires the full length).
constexpr size_t kP256CoordinateSize = 32;
// An RSA public exponent wider than this is refused (Entra uses 65537).
constexpr int kRsaExponentBitsMax = 64;

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The string member `name` of `jwk`: null when absent; an error when present but not a string.
absl::StatusOr<const std::string*> StringMember(const picojson::object& jwk, const char* name,
                                                const std::string& where) {
  const auto it = jwk.find(name);
  if (it == jwk.end()) {
    return nullptr;
  }
  if (!it->second.is<std::string>()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": \"", name, "\" is not a string"));
  }
  return &it->second.get<std::string>();
}

// The required base64url member `name`, decoded.
absl::StatusOr<std::string> Base64Member(const picojson::object& jwk, const char* name,
                                         const std::string& where) {
  JG_ASSIGN_OR_RETURN(const std::string* text, StringMember(jwk, name, where));
  if (text == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": \"", name, "\" is missing"));
  }
  std::string bytes;
  if (!Base64UrlDecode(*text, &bytes) || bytes.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"", name, "\" is not unpadded base64url"));
  }
  return bytes;
}

// Runs EVP_PKEY_fromdata for a public key of `type_name` ("RSA", "EC") from `bld`'s parameters,
// then checks the key as OpenSSL's public-key check does.
absl::StatusOr<EvpPkeyPtr> KeyFromParams(const char* type_name, OSSL_PARAM_BLD* bld,
                                         const std::string& where) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type_name, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": OpenSSL rejects the ", type_name, " key parameters"));
  }
  EvpPkeyPtr key(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": the ", type_name, " public key fails OpenSSL's check"));
  }
  return key;
}

absl::StatusOr<EvpPkeyPtr> RsaKey(const picojson::object& jwk, const std::string& where) {
  JG_ASSIGN_OR_RETURN(const std::string n_bytes, Base64Member(jwk, "n", where));
  JG_ASSIGN_OR_RETURN(const std::string e_bytes, Base64Member(jwk, "e", where));
  BnPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n_bytes.data()),
                    static_cast<int>(n_bytes.size()), nullptr));
  BnPtr e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e_bytes.data()),
                    static_cast<int>(e_bytes.size()), nullptr));
  JG_CHECK(n != nullptr && e != nullptr);
  const int bits = BN_num_bits(n.get());
  if (bits < kRsaBitsMin || bits > kRsaBitsMax) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": RSA modulus is ", bits, " bits; ",
                                                   kRsaBitsMin, "..", kRsaBitsMax,
                                                   " are accepted"));
  }
  if (!BN_is_odd(e.get()) || BN_num_bits(e.get()) < 2 ||
      BN_num_bits(e.get()) > kRsaExponentBitsMax) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": RSA exponent must be odd, >= 3 and < 2^", kRsaExponentBitsMax));
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  JG_CHECK(bld != nullptr);
  if (OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return absl::InternalError(absl::StrCat(where, ": OSSL_PARAM_BLD_push_BN failed"));
  }
  return KeyFromParams("RSA", bld.get(), where);
}

absl::StatusOr<EvpPkeyPtr> EcP256Key(const picojson::object& jwk, const std::string& where) {
  JG_ASSIGN_OR_RETURN(const std::string x, Base64Member(jwk, "x", where));
  JG_ASSIGN_OR_RETURN(const std::string y, Base64Member(jwk, "y", where));
  if (x.size() != kP256CoordinateSize || y.size() != kP256CoordinateSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": P-256 \"x\" and \"y\" must be 32 bytes each"));
  }
  // SEC 1 uncompressed point: 0x04 || x || y.
  const std::string point = absl::StrCat("\x04", x, y);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  JG_CHECK(bld != nullptr);
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return absl::InternalError(absl::StrCat(where, ": OSSL_PARAM_BLD_push failed"));
  }
  return KeyFromParams("EC", bld.get(), where);
}

// One JWK: appended to `keys`, or counted in `skipped` (a type or use we do not verify with),
// or an error naming the key.
absl::Status ParseJwk(const picojson::value& value, size_t index, std::vector<Key>* keys,
                      size_t* skipped) {
  std::string where = absl::StrCat("JWKS key ", index);
  if (!value.is<picojson::object>()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " is not an object"));
  }
  const picojson::object& jwk = value.get<picojson::object>();
  JG_ASSIGN_OR_RETURN(const std::string* kid, StringMember(jwk, "kid", where));
  if (kid != nullptr) {
    where = absl::StrCat(where, " (kid ", Quote(*kid), ")");
  }
  JG_ASSIGN_OR_RETURN(const std::string* kty, StringMember(jwk, "kty", where));
  JG_ASSIGN_OR_RETURN(const std::string* use, StringMember(jwk, "use", where));
  JG_ASSIGN_OR_RETURN(const std::string* alg, StringMember(jwk, "alg", where));
  JG_ASSIGN_OR_RETURN(const std::string* crv, StringMember(jwk, "crv", where));
  JG_ASSIGN_OR_RETURN(const std::string* issuer, StringMember(jwk, "issuer", where));
  if (kty == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": \"kty\" is missing"));
  }
  const bool is_rsa = *kty == "RSA";
  const bool is_ec = *kty == "EC" && crv != nullptr && *crv == "P-256";
  const bool alg_ok = alg == nullptr || (is_rsa && *alg == "RS256") || (is_ec && *alg == "ES256");
  if ((use != nullptr && *use != "sig") || !(is_rsa || is_ec) || !alg_ok) {
    ++*skipped;
    return absl::OkStatus();
  }
  if (kid == nullptr || kid->empty() || kid->size() > kKidSizeMax) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"kid\" must be 1..", kKidSizeMax, " bytes"));
  }
  Key key;
  key.kid = *kid;
  key.family = is_rsa ? KeyFamily::kRsa : KeyFamily::kEcP256;
  key.issuer = issuer == nullptr ? std::string() : *issuer;
  JG_ASSIGN_OR_RETURN(key.pkey, is_rsa ? RsaKey(jwk, where) : EcP256Key(jwk, where));
  keys->push_back(std::move(key));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFileBounded(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open JWKS file ", path));
  }
  std::string text(kJwksSizeMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return absl::UnavailableError(absl::StrCat("cannot read JWKS file ", path));
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kJwksSizeMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWKS file ", path, " is larger than ", kJwksSizeMax, " bytes"));
  }
  return text;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const KeySet>> KeySet::Parse(std::string_view jwks_json) {
  if (jwks_json.size() > kJwksSizeMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWKS is ", jwks_json.size(), " bytes; the limit is ", kJwksSizeMax));
  }
  picojson::object root;
  std::string message;
  if (!ParseJsonObject(jwks_json, "JWKS", &root, &message)) {
    return absl::InvalidArgumentError(message);
  }
  const auto it = root.find("keys");
  if (it == root.end() || !it->second.is<picojson::array>()) {
    return absl::InvalidArgumentError("JWKS has no \"keys\" array");
  }
  const picojson::array& jwks = it->second.get<picojson::array>();
  std::vector<Key> keys;
  size_t skipped = 0;
  for (size_t i = 0; i < jwks.size(); ++i) {
    JG_RETURN_IF_ERROR(ParseJwk(jwks[i], i, &keys, &skipped));
  }
  return Make(std::move(keys), skipped);
}

absl::StatusOr<std::shared_ptr<const KeySet>> KeySet::FromKeys(std::vector<Key> keys) {
  return Make(std::move(keys), 0);
}

absl::StatusOr<std::shared_ptr<const KeySet>> KeySet::Make(std::vector<Key> keys,
                                                           size_t skipped_count) {
  if (keys.empty()) {
    return absl::InvalidArgumentError("JWKS has no usable signing key (RS256 RSA or ES256 P-256)");
  }
  if (keys.size() > kKeyCountMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWKS has ", keys.size(), " keys; the limit is ", kKeyCountMax));
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) { return a.kid < b.kid; });
  for (size_t i = 0; i < keys.size(); ++i) {
    JG_CHECK(keys[i].pkey != nullptr);
    if (i > 0 && keys[i].kid == keys[i - 1].kid) {
      return absl::InvalidArgumentError(
          absl::StrCat("JWKS names kid ", Quote(keys[i].kid), " twice"));
    }
  }
  std::shared_ptr<KeySet> set(new KeySet());
  set->keys_ = std::move(keys);
  set->skipped_count_ = skipped_count;
  return set;
}

const Key* KeySet::Find(std::string_view kid) const {
  const auto it = std::lower_bound(keys_.begin(), keys_.end(), kid,
                                   [](const Key& key, std::string_view k) { return key.kid < k; });
  return it != keys_.end() && it->kid == kid ? &*it : nullptr;
}

KeyProvider::KeyProvider(Source source, std::string location, KeyProviderOptions options)
    : source_(source),
      location_(std::move(location)),
      options_(std::move(options)),
      last_request_ms_(std::numeric_limits<int64_t>::min()) {}

KeyProvider::~KeyProvider() { Stop(); }

absl::StatusOr<std::unique_ptr<KeyProvider>> KeyProvider::FromFile(std::string path,
                                                                   KeyProviderOptions options) {
  std::unique_ptr<KeyProvider> provider(
      new KeyProvider(Source::kFile, std::move(path), std::move(options)));
  JG_RETURN_IF_ERROR(provider->Reload());
  return provider;
}

absl::StatusOr<std::unique_ptr<KeyProvider>> KeyProvider::FromUrl(std::string url,
                                                                  KeyProviderOptions options) {
  JG_RETURN_IF_ERROR(ParseHttpsUrl(url).status());
  std::unique_ptr<KeyProvider> provider(
      new KeyProvider(Source::kUrl, std::move(url), std::move(options)));
  JG_RETURN_IF_ERROR(provider->Reload());
  return provider;
}

std::unique_ptr<KeyProvider> KeyProvider::FromKeySet(std::shared_ptr<const KeySet> keys) {
  JG_CHECK(keys != nullptr);
  std::unique_ptr<KeyProvider> provider(new KeyProvider(Source::kFixed, "", {}));
  provider->keys_.store(std::move(keys), std::memory_order_release);
  provider->generation_.store(1, std::memory_order_release);
  return provider;
}

absl::StatusOr<std::shared_ptr<const KeySet>> KeyProvider::Load() const {
  switch (source_) {
    case Source::kFixed:
      return keys();
    case Source::kFile: {
      JG_ASSIGN_OR_RETURN(const std::string text, ReadFileBounded(location_));
      return KeySet::Parse(text);
    }
    case Source::kUrl: {
      HttpsGetOptions get;
      get.ca_file = options_.ca_file;
      get.connect_timeout_ms = options_.connect_timeout_ms;
      get.read_timeout_ms = options_.read_timeout_ms;
      get.body_size_max = kJwksSizeMax;
      JG_ASSIGN_OR_RETURN(const std::string text, HttpsGet(location_, get));
      return KeySet::Parse(text);
    }
  }
  return absl::InternalError("unknown key source");
}

absl::Status KeyProvider::Reload() {
  if (source_ == Source::kFixed) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<const KeySet>> loaded = Load();
  if (!loaded.ok()) {
    return absl::Status(loaded.status().code(), absl::StrCat("loading keys from ", location_, ": ",
                                                             loaded.status().message()));
  }
  keys_.store(*std::move(loaded), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return absl::OkStatus();
}

bool KeyProvider::RequestRefresh() const {
  if (source_ == Source::kFixed) {
    return false;
  }
  const int64_t now_ms = SteadyNowMs();
  int64_t last_ms = last_request_ms_.load(std::memory_order_relaxed);
  const int64_t period_ms = options_.unknown_kid_refresh_min_s * 1000;
  if (last_ms != std::numeric_limits<int64_t>::min() && now_ms - last_ms < period_ms) {
    return false;
  }
  // Only one caller per period wins (single flight); the others see the new time and drop out.
  if (!last_request_ms_.compare_exchange_strong(last_ms, now_ms, std::memory_order_relaxed)) {
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    refresh_requested_ = true;
  }
  wake_.notify_one();
  return true;
}

void KeyProvider::Start() {
  if (source_ == Source::kFixed || thread_.joinable()) {
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void KeyProvider::Stop() {
  if (!thread_.joinable()) {
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void KeyProvider::Run() {
  const auto interval = std::chrono::seconds(std::max<int64_t>(options_.refresh_interval_s, 1));
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, interval, [this] { return stopping_ || refresh_requested_; });
      if (stopping_) {
        return;
      }
      refresh_requested_ = false;
    }
    const absl::Status status = Reload();
    if (!status.ok()) {
      JG_LOG(kWarn, "event=jwks_refresh_failed keeping=generation_%llu error=\"%s\"",
             static_cast<unsigned long long>(generation()), std::string(status.message()).c_str());
    } else {
      JG_LOG(kInfo, "event=jwks_refreshed source=%s generation=%llu keys=%zu", location_.c_str(),
             static_cast<unsigned long long>(generation()), keys()->size());
    }
  }
}

}  // namespace jitgate::auth
