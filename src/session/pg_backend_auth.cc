// src/session/pg_backend_auth.cc: BackendAuth, the gateway's PostgreSQL authentication client
// (see the header for the contract). Wire layouts: PostgreSQL protocol "Message Formats"
// (AuthenticationXXX, PasswordMessage, SASLInitialResponse, SASLResponse); SCRAM: RFC 5802
// section 3 (the algorithm), 5.1 (attributes) and 7 (grammar); RFC 7677 (SHA-256).
//
// Every input is peer bytes: parsing returns false / a failed Step, it never asserts on them.
#include "src/session/pg_backend_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace jitgate::session {
namespace {

// Authentication request codes (protocol "Message Formats", AuthenticationXXX).
constexpr uint32_t kAuthOk = 0;
constexpr uint32_t kAuthKerberosV5 = 2;
constexpr uint32_t kAuthCleartextPassword = 3;
constexpr uint32_t kAuthMd5Password = 5;
constexpr uint32_t kAuthScmCredential = 6;  // removed in PostgreSQL 9.1
constexpr uint32_t kAuthGss = 7;
constexpr uint32_t kAuthGssContinue = 8;
constexpr uint32_t kAuthSspi = 9;
constexpr uint32_t kAuthSasl = 10;
constexpr uint32_t kAuthSaslContinue = 11;
constexpr uint32_t kAuthSaslFinal = 12;

// PasswordMessage, SASLInitialResponse and SASLResponse all use type byte 'p'.
constexpr char kMsgPassword = 'p';
constexpr size_t kMd5SaltSize = 4;

constexpr std::string_view kScramSha256 = "SCRAM-SHA-256";
constexpr std::string_view kScramSha256Plus = "SCRAM-SHA-256-PLUS";
// RFC 5802 section 7 gs2-header values; PostgreSQL supports only tls-server-end-point.
constexpr std::string_view kGs2Plus = "p=tls-server-end-point,,";
constexpr std::string_view kGs2NoBindingSupported = "n,,";
constexpr std::string_view kGs2ClientCouldBind = "y,,";

constexpr size_t kSha256Size = 32;
// PostgreSQL salts are 16 bytes (SCRAM_DEFAULT_SALT_LEN); refuse anything absurd.
constexpr size_t kSaltSizeMax = 64;
// 10'000'000 has 8 digits; more digits (leading zeros included) are refused before parsing.
constexpr size_t kIterationDigitsMax = 8;
static_assert(BackendAuth::kScramIterationsMax < 100'000'000, "fits kIterationDigitsMax");

using Key = std::array<unsigned char, kSha256Size>;

std::string_view AsChars(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

absl::string_view AbslView(std::string_view v) { return {v.data(), v.size()}; }

uint32_t ReadUint32(std::span<const std::byte> bytes) {
  return (std::to_integer<uint32_t>(bytes[0]) << 24) | (std::to_integer<uint32_t>(bytes[1]) << 16) |
         (std::to_integer<uint32_t>(bytes[2]) << 8) | std::to_integer<uint32_t>(bytes[3]);
}

void AppendUint32(uint32_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

// A 'p' message whose body is `body`; the length word counts itself and the body.
std::string FrontendMessage(std::string_view body) {
  std::string msg;
  msg.reserve(5 + body.size());
  msg.push_back(kMsgPassword);
  AppendUint32(static_cast<uint32_t>(4 + body.size()), &msg);
  msg.append(body);
  return msg;
}

std::string Base64(std::string_view raw) {
  std::string out;
  absl::Base64Escape(AbslView(raw), &out);
  return out;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

// Strict RFC 4648 section 4 decoding: padded to a multiple of 4, '=' only at the end, no
// whitespace. Returns false on anything else.
bool Base64Decode(std::string_view in, std::string* out) {
  out->clear();
  if (in.size() % 4 != 0) {
    return false;
  }
  size_t pad_count = 0;
  if (!in.empty() && in.back() == '=') {
    pad_count = (in.size() >= 2 && in[in.size() - 2] == '=') ? 2 : 1;
  }
  uint32_t acc = 0;
  size_t bits = 0;
  for (size_t i = 0; i < in.size() - pad_count; ++i) {
    const int v = Base64Value(in[i]);
    if (v < 0) {
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // The bits left over from the last group must be zero (canonical encoding).
  return (acc & ((1u << bits) - 1)) == 0;
}

std::string HexLower(std::span<const unsigned char> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

// Lower-case hex MD5 of `data`; empty if OpenSSL fails.
std::string Md5Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &digest_size, EVP_md5(), nullptr) != 1) {
    return {};
  }
  std::string hex = HexLower({digest, digest_size});
  OPENSSL_cleanse(digest, sizeof(digest));
  return hex;
}

bool HmacSha256(std::span<const unsigned char> key, std::string_view data, Key* out) {
  unsigned int out_size = 0;
  return HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), out->data(),
              &out_size) != nullptr &&
         out_size == kSha256Size;
}

// RFC 5802 section 5.1 "n": ',' and '=' in a saslname are escaped as =2C and =3D.
std::string SaslName(std::string_view user) {
  std::string out;
  for (char c : user) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// RFC 5802 section 7: printable = %x21-2B / %x2D-7E (printable ASCII except ',').
bool IsPrintableNonce(std::string_view nonce) {
  for (char c : nonce) {
    if (c < 0x21 || c > 0x7e || c == ',') {
      return false;
    }
  }
  return !nonce.empty();
}

// Reads "<name>=<value>" from the front of *in; value ends at ',' (consumed) or at the end.
bool ReadAttribute(std::string_view* in, char name, std::string_view* value) {
  if (in->size() < 2 || (*in)[0] != name || (*in)[1] != '=') {
    return false;
  }
  in->remove_prefix(2);
  const size_t comma = in->find(',');
  if (comma == std::string_view::npos) {
    *value = *in;
    in->remove_prefix(in->size());
  } else {
    *value = in->substr(0, comma);
    in->remove_prefix(comma + 1);
  }
  return true;
}

// Digits only, no sign, no leading zero, at most kIterationDigitsMax.
bool ParseIterations(std::string_view text, uint32_t* out) {
  if (text.empty() || text.size() > kIterationDigitsMax || text[0] == '0') {
    return false;
  }
  uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  *out = v;
  return true;
}

// The SASL mechanism list (code 10): NUL-terminated names, then an empty name.
bool ParseMechanisms(std::string_view data, bool* has_scram, bool* has_plus, std::string* names) {
  size_t count = 0;
  while (true) {
    const size_t nul = data.find('\0');
    if (nul == std::string_view::npos) {
      return false;  // the list or a name is not terminated
    }
    const std::string_view name = data.substr(0, nul);
    data.remove_prefix(nul + 1);
    if (name.empty()) {
      return data.empty();  // the terminator must end the message
    }
    if (++count > BackendAuth::kMechanismCountMax) {
      return false;
    }
    *has_scram = *has_scram || name == kScramSha256;
    *has_plus = *has_plus || name == kScramSha256Plus;
    if (!names->empty()) {
      names->append(", ");
    }
    names->append(name.substr(0, 64));
  }
}

}  // namespace

BackendAuth::BackendAuth(const BackendAuthParams& params)
    : user_(params.user),
      password_(params.password),
      channel_binding_(AsChars(params.channel_binding)),
      require_channel_binding_(params.require_channel_binding),
      key_cache_(params.key_cache) {}

ScramKeyCache::~ScramKeyCache() { OPENSSL_cleanse(entries_.data(), sizeof(entries_)); }

bool ScramKeyCache::Find(const Digest& id, Digest* salted_password) const {
  for (const Entry& entry : entries_) {
    if (entry.used && CRYPTO_memcmp(entry.id.data(), id.data(), id.size()) == 0) {
      *salted_password = entry.salted;
      ++hits_;
      return true;
    }
  }
  return false;
}

void ScramKeyCache::Insert(const Digest& id, const Digest& salted_password) {
  Entry& entry = entries_[next_];
  next_ = (next_ + 1) % entries_.size();
  entry.id = id;
  entry.salted = salted_password;
  entry.used = true;
}

BackendAuth::~BackendAuth() {
  OPENSSL_cleanse(password_.data(), password_.size());
  OPENSSL_cleanse(server_signature_.data(), server_signature_.size());
  OPENSSL_cleanse(client_nonce_.data(), client_nonce_.size());
}

BackendAuth::Step BackendAuth::Fail(std::string error) {
  state_ = State::kFailed;
  return Step{Step::Kind::kFailed, {}, std::move(error)};
}

std::string BackendAuth::PasswordProblem() const {
  if (password_.empty()) {
    return "backend asked for a password, but none is configured for this backend user";
  }
  if (password_.size() > kPasswordSizeMax) {
    return absl::StrCat("the configured backend password is longer than ", kPasswordSizeMax,
                        " bytes");
  }
  // PasswordMessage carries a C string, and PostgreSQL's SCRAM verifier is made from one.
  if (password_.find('\0') != std::string::npos) {
    return "the configured backend password contains a NUL byte";
  }
  return {};
}

BackendAuth::Step BackendAuth::OnAuthentication(std::span<const std::byte> body) {
  if (state_ == State::kFailed) {
    return Step{Step::Kind::kFailed, {}, "backend authentication already failed"};
  }
  if (state_ == State::kDone) {
    return Fail("backend sent an Authentication message after AuthenticationOk");
  }
  if (body.size() < 4) {
    return Fail("malformed Authentication message from backend (shorter than its code)");
  }
  if (body.size() > kBodySizeMax) {
    return Fail(absl::StrCat("Authentication message from backend too long (", body.size(),
                             " bytes, limit ", kBodySizeMax, ")"));
  }
  const uint32_t code = ReadUint32(body);
  const std::span<const std::byte> data = body.subspan(4);
  switch (code) {
    case kAuthOk:
      return OnOk(data);
    case kAuthCleartextPassword:
      return OnCleartext(data);
    case kAuthMd5Password:
      return OnMd5(data);
    case kAuthSasl:
      return OnSasl(data);
    case kAuthSaslContinue:
      return OnSaslContinue(data);
    case kAuthSaslFinal:
      return OnSaslFinal(data);
    case kAuthKerberosV5:
      return Fail("backend asked for Kerberos V5 authentication, which jitgate does not support");
    case kAuthScmCredential:
      return Fail("backend asked for SCM credential authentication, which jitgate does not "
                  "support");
    case kAuthGss:
    case kAuthGssContinue:
      return Fail("backend asked for GSSAPI authentication, which jitgate does not support");
    case kAuthSspi:
      return Fail("backend asked for SSPI authentication, which jitgate does not support");
    default:
      return Fail(absl::StrCat("backend sent unknown authentication request code ", code));
  }
}

BackendAuth::Step BackendAuth::OnOk(std::span<const std::byte> data) {
  if (!data.empty()) {
    return Fail("malformed AuthenticationOk from backend (trailing bytes)");
  }
  if (state_ == State::kScramFirstSent || state_ == State::kScramFinalSent) {
    return Fail("backend sent AuthenticationOk before completing SCRAM (its server signature "
                "was not verified); not trusting it");
  }
  if (require_channel_binding_ && !(scram_verified_ && channel_bound_)) {
    return Fail("channel binding is required, but the backend authenticated without "
                "SCRAM-SHA-256-PLUS");
  }
  state_ = State::kDone;
  return Step{Step::Kind::kOk, {}, {}};
}

BackendAuth::Step BackendAuth::OnCleartext(std::span<const std::byte> data) {
  if (!data.empty()) {
    return Fail("malformed AuthenticationCleartextPassword from backend (trailing bytes)");
  }
  if (state_ != State::kStart) {
    return Fail("backend sent AuthenticationCleartextPassword out of order");
  }
  if (require_channel_binding_) {
    return Fail("channel binding is required, but the backend asked for a cleartext password");
  }
  if (std::string problem = PasswordProblem(); !problem.empty()) {
    return Fail(std::move(problem));
  }
  std::string body(password_);
  body.push_back('\0');
  Step step{Step::Kind::kSend, FrontendMessage(body), {}};
  OPENSSL_cleanse(body.data(), body.size());
  state_ = State::kPasswordSent;
  return step;
}

BackendAuth::Step BackendAuth::OnMd5(std::span<const std::byte> data) {
  if (data.size() != kMd5SaltSize) {
    return Fail("malformed AuthenticationMD5Password from backend (salt is not 4 bytes)");
  }
  if (state_ != State::kStart) {
    return Fail("backend sent AuthenticationMD5Password out of order");
  }
  if (require_channel_binding_) {
    return Fail("channel binding is required, but the backend asked for MD5 authentication");
  }
  if (std::string problem = PasswordProblem(); !problem.empty()) {
    return Fail(std::move(problem));
  }
  // PostgreSQL: "md5" || hex(md5(hex(md5(password || user)) || salt)).
  std::string inner_input = absl::StrCat(AbslView(password_), AbslView(user_));
  std::string inner = Md5Hex(inner_input);
  OPENSSL_cleanse(inner_input.data(), inner_input.size());
  inner.append(AsChars(data));
  std::string outer = Md5Hex(inner);
  OPENSSL_cleanse(inner.data(), inner.size());
  if (outer.empty()) {
    return Fail("MD5 is unavailable in this OpenSSL (FIPS mode?)");
  }
  std::string body = absl::StrCat("md5", outer);
  body.push_back('\0');
  state_ = State::kPasswordSent;
  return Step{Step::Kind::kSend, FrontendMessage(body), {}};
}

BackendAuth::Step BackendAuth::OnSasl(std::span<const std::byte> data) {
  if (state_ != State::kStart) {
    return Fail("backend sent AuthenticationSASL out of order");
  }
  bool has_scram = false;
  bool has_plus = false;
  std::string offered;
  if (!ParseMechanisms(AsChars(data), &has_scram, &has_plus, &offered)) {
    return Fail("malformed AuthenticationSASL from backend (mechanism list)");
  }
  if (channel_binding_.size() > kChannelBindingSizeMax) {
    return Fail("channel binding data is longer than any tls-server-end-point hash");
  }
  const bool have_binding = !channel_binding_.empty();
  if (have_binding && has_plus) {
    mechanism_ = kScramSha256Plus;
    gs2_header_ = kGs2Plus;
    channel_bound_ = true;
  } else if (require_channel_binding_) {
    return Fail(have_binding
                    ? absl::StrCat("channel binding is required, but the backend does not offer "
                                   "SCRAM-SHA-256-PLUS (offered: ",
                                   offered, ")")
                    : std::string("channel binding is required, but the backend connection has "
                                  "no TLS channel binding data"));
  } else if (has_scram) {
    mechanism_ = kScramSha256;
    // RFC 5802 section 6: "y" tells the server we could bind but it did not offer to, so a
    // downgrade that stripped -PLUS from the list is detected by a server that supports it.
    gs2_header_ = have_binding ? kGs2ClientCouldBind : kGs2NoBindingSupported;
  } else {
    return Fail(absl::StrCat("backend offered no SASL mechanism jitgate supports (offered: ",
                             offered, ")"));
  }
  if (std::string problem = PasswordProblem(); !problem.empty()) {
    return Fail(std::move(problem));
  }
  if (client_nonce_.empty()) {
    unsigned char raw[kClientNonceRawSize];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
      return Fail("could not generate a SCRAM nonce (RAND_bytes failed)");
    }
    client_nonce_ = Base64({reinterpret_cast<const char*>(raw), sizeof(raw)});
    OPENSSL_cleanse(raw, sizeof(raw));
  }
  if (!IsPrintableNonce(client_nonce_)) {
    return Fail("SCRAM client nonce is not printable");
  }
  client_first_bare_ = absl::StrCat("n=", SaslName(scram_user_), ",r=", client_nonce_);
  const std::string client_first = absl::StrCat(gs2_header_, client_first_bare_);
  // SASLInitialResponse: String mechanism, Int32 length of the data, the data.
  std::string body(mechanism_);
  body.push_back('\0');
  AppendUint32(static_cast<uint32_t>(client_first.size()), &body);
  body.append(client_first);
  state_ = State::kScramFirstSent;
  return Step{Step::Kind::kSend, FrontendMessage(body), {}};
}

BackendAuth::Step BackendAuth::OnSaslContinue(std::span<const std::byte> data) {
  if (state_ != State::kScramFirstSent) {
    return Fail("backend sent AuthenticationSASLContinue out of order");
  }
  const std::string_view server_first = AsChars(data);
  if (server_first.find('\0') != std::string_view::npos) {
    return Fail("malformed SCRAM server-first-message (NUL byte)");
  }
  if (server_first.starts_with("m=")) {
    return Fail("SCRAM server-first-message has a mandatory extension jitgate does not support");
  }
  std::string_view rest = server_first;
  std::string_view nonce;
  std::string_view salt_b64;
  std::string_view iterations_text;
  if (!ReadAttribute(&rest, 'r', &nonce) || !ReadAttribute(&rest, 's', &salt_b64) ||
      !ReadAttribute(&rest, 'i', &iterations_text) || !rest.empty() ||
      server_first.back() == ',') {
    return Fail("malformed SCRAM server-first-message (expected r=,s=,i=)");
  }
  if (nonce.size() <= client_nonce_.size() || !nonce.starts_with(client_nonce_) ||
      !IsPrintableNonce(nonce)) {
    return Fail("SCRAM server nonce does not extend the client nonce");
  }
  std::string salt;
  if (salt_b64.size() > 2 * kSaltSizeMax || !Base64Decode(salt_b64, &salt) || salt.empty()) {
    return Fail("malformed SCRAM salt from backend");
  }
  uint32_t iterations = 0;
  if (!ParseIterations(iterations_text, &iterations) || iterations < kScramIterationsMin ||
      iterations > kScramIterationsMax) {
    return Fail(absl::StrCat("SCRAM iteration count from backend is not a number within ",
                             kScramIterationsMin, "..", kScramIterationsMax));
  }

  Key salted{};
  Key client_key{};
  Key stored_key{};
  Key client_signature{};
  Key server_key{};
  const std::string client_final_without_proof =
      absl::StrCat("c=", Base64(absl::StrCat(gs2_header_, channel_bound_ ? channel_binding_ : "")),
                   ",r=", AbslView(nonce));
  const std::string auth_message = absl::StrCat(client_first_bare_, ",", AbslView(server_first),
                                                ",", client_final_without_proof);
  // The cache key: SHA-256 over (password, salt, iterations), each length-prefixed.
  Key cache_id{};
  bool cached = false;
  if (key_cache_ != nullptr) {
    std::string material = absl::StrCat(password_.size(), ":", password_, salt.size(), ":", salt,
                                        ":", iterations);
    SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(),
           cache_id.data());
    OPENSSL_cleanse(material.data(), material.size());
    cached = key_cache_->Find(cache_id, &salted);
  }
  bool ok = cached ||
            PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                              reinterpret_cast<const unsigned char*>(salt.data()),
                              static_cast<int>(salt.size()), static_cast<int>(iterations),
                              EVP_sha256(), static_cast<int>(salted.size()), salted.data()) == 1;
  if (ok && !cached && key_cache_ != nullptr) {
    key_cache_->Insert(cache_id, salted);
  }
  ok = ok && HmacSha256(salted, "Client Key", &client_key);
  ok = ok && SHA256(client_key.data(), client_key.size(), stored_key.data()) != nullptr;
  ok = ok && HmacSha256(stored_key, auth_message, &client_signature);
  ok = ok && HmacSha256(salted, "Server Key", &server_key);
  ok = ok && HmacSha256(server_key, auth_message, &server_signature_);
  Key proof{};
  for (size_t i = 0; i < proof.size(); ++i) {
    proof[i] = client_key[i] ^ client_signature[i];
  }
  for (Key* k : {&salted, &client_key, &stored_key, &client_signature, &server_key}) {
    OPENSSL_cleanse(k->data(), k->size());
  }
  if (!ok) {
    return Fail("SCRAM key derivation failed in OpenSSL");
  }
  const std::string client_final = absl::StrCat(
      client_final_without_proof, ",p=",
      Base64({reinterpret_cast<const char*>(proof.data()), proof.size()}));
  state_ = State::kScramFinalSent;
  return Step{Step::Kind::kSend, FrontendMessage(client_final), {}};
}

BackendAuth::Step BackendAuth::OnSaslFinal(std::span<const std::byte> data) {
  if (state_ != State::kScramFinalSent) {
    return Fail("backend sent AuthenticationSASLFinal out of order");
  }
  const std::string_view server_final = AsChars(data);
  if (server_final.find('\0') != std::string_view::npos) {
    return Fail("malformed SCRAM server-final-message (NUL byte)");
  }
  std::string_view rest = server_final;
  std::string_view value;
  if (ReadAttribute(&rest, 'e', &value)) {
    return Fail(absl::StrCat("backend rejected SCRAM authentication: ",
                             AbslView(value.substr(0, 128))));
  }
  std::string signature;
  if (!ReadAttribute(&rest, 'v', &value) || !rest.empty() || server_final.back() == ',' ||
      !Base64Decode(value, &signature) || signature.size() != kSha256Size) {
    return Fail("malformed SCRAM server-final-message (expected v=<signature>)");
  }
  if (CRYPTO_memcmp(signature.data(), server_signature_.data(), kSha256Size) != 0) {
    return Fail("SCRAM server signature from backend is wrong (the backend does not know the "
                "password, or the connection is being intercepted)");
  }
  OPENSSL_cleanse(server_signature_.data(), server_signature_.size());
  scram_verified_ = true;
  state_ = State::kScramVerified;
  return Step{Step::Kind::kWait, {}, {}};
}

}  // namespace jitgate::session
