// src/auth/validator.cc: see validator.h. The checks run in a fixed order: structure, header,
// key, signature, then claims, so nothing in an unverified payload decides anything but
// kMalformed.
#include "src/auth/validator.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "jitgate/check.h"
#include "src/auth/jwt.h"

namespace jitgate::auth {
namespace {

// Raw ES256 signature: r || s, 32 bytes each (RFC 7518 s3.4).
constexpr size_t kEs256SignatureSize = 64;
// Entries of one list claim (groups, roles, scopes): Entra caps groups at 200 before overage.
constexpr size_t kClaimListSizeMax = 1024;
constexpr std::string_view kTenantTemplate = "{tenantid}";

absl::string_view Absl(std::string_view v) { return absl::string_view(v.data(), v.size()); }

Verdict Refuse(TokenError error, std::string message) {
  Verdict verdict;
  verdict.error = error;
  verdict.message = std::move(message);
  return verdict;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

// DER SEQUENCE { INTEGER r, INTEGER s } from a raw r || s signature, for EVP_DigestVerify.
bool Es256ToDer(std::string_view raw, std::string* der) {
  if (raw.size() != kEs256SignatureSize) {
    return false;
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes, kEs256SignatureSize / 2, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + kEs256SignatureSize / 2, kEs256SignatureSize / 2, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  const int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) {
    return false;
  }
  der->resize(static_cast<size_t>(size));
  auto* out = reinterpret_cast<unsigned char*>(der->data());
  return i2d_ECDSA_SIG(sig.get(), &out) == size;
}

// RS256: RSASSA-PKCS1-v1_5 with SHA-256 (OpenSSL's default RSA padding); ES256: ECDSA P-256
// with SHA-256. The key's family was matched to the alg before this is called.
bool VerifySignature(const Key& key, std::string_view signing_input, std::string_view signature) {
  std::string der;
  if (key.family == KeyFamily::kEcP256) {
    if (!Es256ToDer(signature, &der)) {
      return false;
    }
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key.pkey.get(),
                              nullptr) == 1 &&
      EVP_DigestVerify(
          ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  ERR_clear_error();
  return ok;
}

bool IsGuid(std::string_view text) {
  if (text.size() != 36) {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !absl::ascii_isxdigit(text[i])) {
      return false;
    }
  }
  return true;
}

std::string SubstituteTenant(std::string_view pattern, std::string_view tid) {
  std::string out;
  size_t at = 0;
  for (size_t found = pattern.find(kTenantTemplate); found != std::string_view::npos;
       found = pattern.find(kTenantTemplate, at)) {
    out.append(pattern.substr(at, found - at));
    out.append(tid);
    at = found + kTenantTemplate.size();
  }
  out.append(pattern.substr(at));
  return out;
}

// Whether `pattern` (maybe templated) accepts `iss`. A template never matches without a tid.
bool IssuerMatches(std::string_view pattern, std::string_view iss, std::string_view tid) {
  if (pattern.find(kTenantTemplate) == std::string_view::npos) {
    return pattern == iss;
  }
  return !tid.empty() && SubstituteTenant(pattern, tid) == iss;
}

// The claims of a payload, read with their types checked. A claim of the wrong type is
// kMalformed; `present` flags tell absence from emptiness.
class Claims {
 public:
  explicit Claims(const picojson::object& payload) : payload_(payload) {}

  const picojson::value* Find(const char* name) const {
    const auto it = payload_.find(name);
    return it == payload_.end() ? nullptr : &it->second;
  }

  // A NumericDate (RFC 7519 s2): an integer, or a finite number truncated toward -inf.
  bool Time(const char* name, bool* present, int64_t* out, Verdict* error) const {
    const picojson::value* value = Find(name);
    *present = value != nullptr;
    if (value == nullptr) {
      return true;
    }
    if (value->is<int64_t>()) {
      *out = value->get<int64_t>();
      return true;
    }
    if (value->is<double>()) {
      const double d = value->get<double>();
      if (std::isfinite(d) && std::fabs(d) < 9.0e15) {
        *out = static_cast<int64_t>(std::floor(d));
        return true;
      }
    }
    *error = Refuse(TokenError::kMalformed, absl::StrCat("claim ", name, " is not a NumericDate"));
    return false;
  }

  bool String(const char* name, const std::string** out, Verdict* error) const {
    const picojson::value* value = Find(name);
    *out = nullptr;
    if (value == nullptr) {
      return true;
    }
    if (!value->is<std::string>()) {
      *error = Refuse(TokenError::kMalformed, absl::StrCat("claim ", name, " is not a string"));
      return false;
    }
    *out = &value->get<std::string>();
    return true;
  }

  // An array of strings (or, when `split_string`, one space-separated string) into `out`.
  bool List(const char* name, bool split_string, bool* present, std::vector<std::string>* out,
            Verdict* error) const {
    const picojson::value* value = Find(name);
    *present = value != nullptr;
    if (value == nullptr) {
      return true;
    }
    if (split_string && value->is<std::string>()) {
      for (absl::string_view part :
           absl::StrSplit(value->get<std::string>(), ' ', absl::SkipEmpty())) {
        out->emplace_back(part);
      }
    } else if (value->is<picojson::array>()) {
      for (const picojson::value& item : value->get<picojson::array>()) {
        if (!item.is<std::string>()) {
          *error = Refuse(TokenError::kMalformed,
                          absl::StrCat("claim ", name, " holds something other than strings"));
          return false;
        }
        out->push_back(item.get<std::string>());
      }
    } else {
      *error =
          Refuse(TokenError::kMalformed,
                 absl::StrCat("claim ", name,
                              split_string ? " is not a string" : " is not an array of strings"));
      return false;
    }
    if (out->size() > kClaimListSizeMax) {
      *error = Refuse(TokenError::kMalformed, absl::StrCat("claim ", name, " has more than ",
                                                           kClaimListSizeMax, " entries"));
      return false;
    }
    return true;
  }

 private:
  const picojson::object& payload_;
};

// Header rules: alg allow-list, crit refused, typ, kid. Fills `alg_rs256` and `kid`.
bool CheckHeader(const picojson::object& header, bool* alg_rs256, std::string_view* kid,
                 Verdict* verdict) {
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->second.is<std::string>()) {
    *verdict = Refuse(TokenError::kMalformed, "header has no string alg");
    return false;
  }
  const std::string& alg_name = alg->second.get<std::string>();
  if (alg_name != "RS256" && alg_name != "ES256") {
    *verdict = Refuse(TokenError::kUnsupportedAlgorithm,
                      absl::StrCat("alg ", Quote(alg_name), " is not accepted (RS256, ES256 are)"));
    return false;
  }
  *alg_rs256 = alg_name == "RS256";
  if (header.count("crit") != 0) {
    *verdict =
        Refuse(TokenError::kMalformed, "header has crit; no critical extension is supported");
    return false;
  }
  const auto typ = header.find("typ");
  if (typ != header.end()) {
    const bool ok = typ->second.is<std::string>() &&
                    (absl::EqualsIgnoreCase(typ->second.get<std::string>(), "JWT") ||
                     typ->second.get<std::string>() == "at+jwt");
    if (!ok) {
      *verdict = Refuse(TokenError::kNotAnAccessToken,
                        absl::StrCat("typ ", Quote(typ->second.to_str()), " is not JWT or at+jwt"));
      return false;
    }
  }
  const auto kid_it = header.find("kid");
  if (kid_it == header.end() || !kid_it->second.is<std::string>() ||
      kid_it->second.get<std::string>().empty()) {
    *verdict = Refuse(TokenError::kMissingClaim, "header has no kid");
    return false;
  }
  *kid = kid_it->second.get<std::string>();
  return true;
}

// exp required, nbf and iat optional, each with the skew.
bool CheckTimes(const Claims& claims, int64_t now_s, int64_t skew_s, Identity* identity,
                Verdict* verdict) {
  bool exp_present = false;
  bool nbf_present = false;
  bool iat_present = false;
  if (!claims.Time("exp", &exp_present, &identity->expires_at_s, verdict) ||
      !claims.Time("nbf", &nbf_present, &identity->not_before_s, verdict) ||
      !claims.Time("iat", &iat_present, &identity->issued_at_s, verdict)) {
    return false;
  }
  if (!exp_present) {
    *verdict = Refuse(TokenError::kMissingClaim, "token has no exp");
    return false;
  }
  // In 128 bits so no claim value can overflow the comparisons.
  using Wide = __int128;
  if (Wide{identity->expires_at_s} + skew_s <= Wide{now_s}) {
    *verdict =
        Refuse(TokenError::kExpired,
               absl::StrCat("token expired ",
                            static_cast<int64_t>(Wide{now_s} - identity->expires_at_s), " s ago"));
    return false;
  }
  if (nbf_present && Wide{identity->not_before_s} - skew_s > Wide{now_s}) {
    *verdict = Refuse(
        TokenError::kNotYetValid,
        absl::StrCat("token is not valid for another ",
                     static_cast<int64_t>(Wide{identity->not_before_s} - now_s), " s (nbf)"));
    return false;
  }
  if (iat_present && Wide{identity->issued_at_s} - skew_s > Wide{now_s}) {
    *verdict = Refuse(
        TokenError::kIssuedInFuture,
        absl::StrCat("token was issued ", static_cast<int64_t>(Wide{identity->issued_at_s} - now_s),
                     " s in the future (iat); check the clocks"));
    return false;
  }
  return true;
}

// iss required; tid a GUID when present and equal to any GUID segment of iss; iss accepted by
// the options and by the key's own issuer property; tid in the allow-list. Fills issuer, tenant.
bool CheckIssuerAndTenant(const Claims& claims, const Key& key, const ValidatorOptions& options,
                          Identity* identity, Verdict* verdict) {
  const std::string* iss = nullptr;
  const std::string* tid = nullptr;
  if (!claims.String("iss", &iss, verdict) || !claims.String("tid", &tid, verdict)) {
    return false;
  }
  if (iss == nullptr) {
    *verdict = Refuse(TokenError::kMissingClaim, "token has no iss");
    return false;
  }
  const std::string_view tenant = tid == nullptr ? std::string_view() : std::string_view(*tid);
  if (tid != nullptr && !IsGuid(tenant)) {
    *verdict =
        Refuse(TokenError::kWrongTenant, absl::StrCat("tid ", Quote(tenant), " is not a GUID"));
    return false;
  }
  // The tenant named in iss (v1 .../{tid}/, v2 .../{tid}/v2.0) must be the token's tid.
  const size_t scheme_end = iss->find("://");
  const std::string_view iss_path = scheme_end == std::string::npos
                                        ? std::string_view(*iss)
                                        : std::string_view(*iss).substr(scheme_end + 3);
  for (absl::string_view part : absl::StrSplit(Absl(iss_path), '/')) {
    const std::string_view segment(part.data(), part.size());
    if (IsGuid(segment) && !absl::EqualsIgnoreCase(part, Absl(tenant))) {
      *verdict = Refuse(TokenError::kWrongTenant,
                        absl::StrCat("iss names tenant ", Quote(segment), " but tid is ",
                                     tid == nullptr ? "absent" : Quote(tenant)));
      return false;
    }
  }
  bool issuer_ok = false;
  for (const std::string& accepted : options.issuers) {
    issuer_ok = issuer_ok || IssuerMatches(accepted, *iss, tenant);
  }
  if (!issuer_ok) {
    *verdict =
        Refuse(TokenError::kWrongIssuer, absl::StrCat("issuer ", Quote(*iss), " is not accepted"));
    return false;
  }
  if (!key.issuer.empty() && !IssuerMatches(key.issuer, *iss, tenant)) {
    *verdict = Refuse(TokenError::kWrongIssuer,
                      absl::StrCat("issuer ", Quote(*iss), " is not the issuer of key ",
                                   Quote(key.kid), " (", Quote(key.issuer), ")"));
    return false;
  }
  if (!options.tenants.empty()) {
    if (tid == nullptr) {
      *verdict = Refuse(TokenError::kMissingClaim, "token has no tid and tenants are restricted");
      return false;
    }
    bool tenant_ok = false;
    for (const std::string& allowed : options.tenants) {
      tenant_ok = tenant_ok || absl::EqualsIgnoreCase(Absl(allowed), Absl(tenant));
    }
    if (!tenant_ok) {
      *verdict = Refuse(TokenError::kWrongTenant,
                        absl::StrCat("tenant ", Quote(tenant), " is not allowed"));
      return false;
    }
  }
  identity->issuer = *iss;
  identity->tenant = std::string(tenant);
  return true;
}

// aud, a string or an array of strings, must hold one accepted audience.
bool CheckAudience(const Claims& claims, const ValidatorOptions& options, Verdict* verdict) {
  std::vector<std::string> audiences;
  const picojson::value* aud_claim = claims.Find("aud");
  if (aud_claim != nullptr && aud_claim->is<std::string>()) {
    audiences.push_back(aud_claim->get<std::string>());
  } else {
    bool aud_present = false;
    if (!claims.List("aud", /*split_string=*/false, &aud_present, &audiences, verdict)) {
      return false;
    }
  }
  if (audiences.empty()) {
    *verdict = Refuse(TokenError::kMissingClaim, "token has no aud");
    return false;
  }
  for (const std::string& aud : audiences) {
    for (const std::string& accepted : options.audiences) {
      if (aud == accepted) {
        return true;
      }
    }
  }
  *verdict = Refuse(TokenError::kWrongAudience,
                    audiences.size() == 1
                        ? absl::StrCat("audience ", Quote(audiences[0]), " is not accepted")
                        : absl::StrCat("none of the ", audiences.size(), " audiences (",
                                       Quote(audiences[0]), ", ...) is accepted"));
  return false;
}

// Group overage, roles / scp / groups, the subject and the client. Fills the rest of `identity`.
bool CheckSubject(const Claims& claims, const ValidatorOptions& options, Identity* identity,
                  Verdict* verdict) {
  const picojson::value* claim_names = claims.Find("_claim_names");
  if (claims.Find("hasgroups") != nullptr ||
      (claim_names != nullptr && claim_names->is<picojson::object>() &&
       claim_names->get<picojson::object>().count("groups") != 0)) {
    *verdict = Refuse(TokenError::kGroupsOverage,
                      "token left its groups out (group overage); jitgate does not resolve groups "
                      "through Microsoft Graph: authorize on app roles (roles) instead");
    return false;
  }
  bool roles_present = false;
  bool scp_present = false;
  bool groups_present = false;
  if (!claims.List("roles", false, &roles_present, &identity->roles, verdict) ||
      !claims.List("scp", true, &scp_present, &identity->scopes, verdict) ||
      !claims.List("groups", false, &groups_present, &identity->groups, verdict)) {
    return false;
  }
  if (options.require_roles_or_scp && identity->roles.empty() && identity->scopes.empty()) {
    *verdict = Refuse(TokenError::kNotAnAccessToken,
                      "token has neither roles nor scp, so it is not an access token for an API "
                      "(an ID token?) or the app has no role assigned");
    return false;
  }
  const std::string* oid = nullptr;
  const std::string* azp = nullptr;
  const std::string* appid = nullptr;
  const std::string* idtyp = nullptr;
  const std::string* uti = nullptr;
  const std::string* jti = nullptr;
  if (!claims.String("oid", &oid, verdict) || !claims.String("azp", &azp, verdict) ||
      !claims.String("appid", &appid, verdict) || !claims.String("idtyp", &idtyp, verdict) ||
      !claims.String("uti", &uti, verdict) || !claims.String("jti", &jti, verdict)) {
    return false;
  }
  const std::string* app = azp != nullptr ? azp : appid;
  const std::string* subject = oid != nullptr && !oid->empty() ? oid : app;
  if (subject == nullptr || subject->empty()) {
    *verdict =
        Refuse(TokenError::kMissingClaim, "token has no oid, azp or appid to name its subject");
    return false;
  }
  identity->subject = *subject;
  identity->app_id = app == nullptr ? std::string() : *app;
  identity->token_id = uti != nullptr ? *uti : (jti != nullptr ? *jti : std::string());
  identity->app_only = (idtyp != nullptr && *idtyp == "app") || (roles_present && !scp_present);
  return true;
}

}  // namespace

absl::Status CheckValidatorOptions(const ValidatorOptions& options) {
  if (options.issuers.empty()) {
    return absl::InvalidArgumentError("auth: no issuer is accepted; list at least one");
  }
  if (options.audiences.empty()) {
    return absl::InvalidArgumentError("auth: no audience is accepted; list at least one");
  }
  if (options.clock_skew_s < 0 || options.clock_skew_s > 600) {
    return absl::InvalidArgumentError("auth: clock_skew_s must be 0..600");
  }
  if (options.token_size_max < 256 || options.token_size_max > (size_t{1} << 20)) {
    return absl::InvalidArgumentError("auth: token_size_max must be 256..1048576");
  }
  return absl::OkStatus();
}

Validator::Validator(ValidatorOptions options, const KeyProvider* keys)
    : options_(std::move(options)), keys_(keys) {
  JG_CHECK(keys_ != nullptr);
  JG_CHECK(options_.clock_skew_s >= 0);
}

Verdict Validator::Validate(std::string_view token, int64_t now_s) const {
  DecodedJwt jwt;
  std::string message;
  const TokenError decoded = DecodeJwt(token, options_.token_size_max, &jwt, &message);
  if (decoded != TokenError::kNone) {
    return Refuse(decoded, std::move(message));
  }
  Verdict verdict;
  bool alg_rs256 = false;
  std::string_view kid;
  if (!CheckHeader(jwt.header, &alg_rs256, &kid, &verdict)) {
    return verdict;
  }
  // Keep the set alive while its key is in use: a refresh may replace it meanwhile.
  const std::shared_ptr<const KeySet> keys = keys_->keys();
  const Key* key = keys->Find(kid);
  if (key == nullptr) {
    return Refuse(TokenError::kUnknownKey, absl::StrCat("no key has kid ", Quote(kid)));
  }
  // The verifier follows the key's type; the token's alg only has to agree with it.
  const KeyFamily wanted = alg_rs256 ? KeyFamily::kRsa : KeyFamily::kEcP256;
  if (key->family != wanted) {
    return Refuse(TokenError::kUnsupportedAlgorithm,
                  absl::StrCat("alg ", alg_rs256 ? "RS256" : "ES256", " but key ", Quote(kid),
                               " is ", key->family == KeyFamily::kRsa ? "RSA" : "EC P-256"));
  }
  if (!VerifySignature(*key, jwt.signing_input, jwt.signature)) {
    return Refuse(TokenError::kBadSignature,
                  absl::StrCat("signature does not verify with key ", Quote(kid)));
  }
  const Claims claims(jwt.payload);
  auto identity = std::make_shared<Identity>();
  if (!CheckTimes(claims, now_s, options_.clock_skew_s, identity.get(), &verdict) ||
      !CheckIssuerAndTenant(claims, *key, options_, identity.get(), &verdict) ||
      !CheckAudience(claims, options_, &verdict) ||
      !CheckSubject(claims, options_, identity.get(), &verdict)) {
    return verdict;
  }
  Verdict accepted;
  accepted.identity = std::move(identity);
  return accepted;
}

}  // namespace jitgate::auth
