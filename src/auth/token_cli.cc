// src/auth/token_cli.cc: see token_cli.h. Flags are parsed by hand ("--flag value" or
// "--flag=value"); every problem with the command line is reported before any file is touched.
#include "src/auth/token_cli.h"

#include <openssl/rand.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "picojson.h"
#include "src/auth/jwt.h"
#include "src/auth/mint.h"
#include "src/config/json_reader.h"

namespace jitgate::auth {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kDevKeyBits = 2048;
// Entra access tokens live 60-90 minutes (PROTOCOLS.md 1.1).
constexpr int64_t kDefaultTtlS = 3600;

// Placeholder ids for a dev token; real ones are GUIDs assigned by Entra.
constexpr const char* kDevTenant = "00000000-0000-4000-8000-000000000001";
constexpr const char* kDevSubject = "00000000-0000-4000-8000-000000000002";
constexpr const char* kDevAppId = "00000000-0000-4000-8000-000000000003";

constexpr const char kUsage[] =
    "usage: jitgate token keygen --dir DIR\n"
    "       jitgate token mint --dev-key PATH --issuer ISS --audience AUD [--tenant TID]\n"
    "           [--subject OID] [--app-id ID] [--role R]... [--group G]... [--scope S]...\n"
    "           [--ttl-s N] [--nbf-s OFFSET] [--iat-s OFFSET] [--now-s EPOCH] [--kid KID]\n"
    "           [--claim name=json]... [--drop-claim NAME]... [--header name=json]...\n"
    "           [--drop-header NAME]...\n"
    "Development keys and tokens only: the key is a plain file and the tokens are self-issued.\n";

int Usage(const std::string& problem) {
  std::fprintf(stderr, "jitgate token: %s\n%s", problem.c_str(), kUsage);
  return kExitUsage;
}

int Failed(const absl::Status& status) {
  std::fprintf(stderr, "jitgate token: %s\n", std::string(status.message()).c_str());
  return kExitFailed;
}

// Flags as name -> values in order. `known` lists the accepted names; `multi` those that repeat.
bool ParseFlags(int argc, char** argv, const std::vector<std::string_view>& known,
                const std::vector<std::string_view>& multi,
                std::map<std::string, std::vector<std::string>>* flags, std::string* problem) {
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--") {
      *problem = absl::StrCat("unexpected argument ", Quote(arg));
      return false;
    }
    std::string name(arg.substr(2));
    std::string value;
    const size_t equals = name.find('=');
    if (equals != std::string::npos) {
      value = name.substr(equals + 1);
      name.resize(equals);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      *problem = absl::StrCat("--", name, " needs a value");
      return false;
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      *problem = absl::StrCat("unknown flag --", name);
      return false;
    }
    std::vector<std::string>& values = (*flags)[name];
    if (!values.empty() && std::find(multi.begin(), multi.end(), name) == multi.end()) {
      *problem = absl::StrCat("--", name, " given twice");
      return false;
    }
    values.push_back(std::move(value));
  }
  return true;
}

const std::string* Single(const std::map<std::string, std::vector<std::string>>& flags,
                          const char* name) {
  const auto it = flags.find(name);
  return it == flags.end() ? nullptr : &it->second.front();
}

std::vector<std::string> All(const std::map<std::string, std::vector<std::string>>& flags,
                             const char* name) {
  const auto it = flags.find(name);
  return it == flags.end() ? std::vector<std::string>() : it->second;
}

bool IntFlag(const std::map<std::string, std::vector<std::string>>& flags, const char* name,
             int64_t* out, std::string* problem) {
  const std::string* text = Single(flags, name);
  if (text != nullptr && !absl::SimpleAtoi(*text, out)) {
    *problem = absl::StrCat("--", name, " wants an integer, not ", Quote(*text));
    return false;
  }
  return true;
}

// "name=json" flags applied to `object` (a later one wins); false with `problem` on bad JSON.
bool ApplyAssignments(const std::vector<std::string>& assignments, const char* flag,
                      picojson::object* object, std::string* problem) {
  for (const std::string& assignment : assignments) {
    const size_t equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      *problem = absl::StrCat("--", flag, " wants name=json, not ", Quote(assignment));
      return false;
    }
    absl::StatusOr<picojson::value> value = config::internal::ReadJson(
        absl::string_view(assignment).substr(equals + 1), absl::StrCat("--", flag));
    if (!value.ok()) {
      *problem = std::string(value.status().message());
      return false;
    }
    (*object)[assignment.substr(0, equals)] = *std::move(value);
  }
  return true;
}

picojson::value StringArray(const std::vector<std::string>& items) {
  picojson::array array;
  for (const std::string& item : items) {
    array.emplace_back(item);
  }
  return picojson::value(std::move(array));
}

std::string RandomId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return "dev";
  }
  return Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

int Keygen(int argc, char** argv) {
  std::map<std::string, std::vector<std::string>> flags;
  std::string problem;
  if (!ParseFlags(argc, argv, {"dir"}, {}, &flags, &problem)) {
    return Usage(problem);
  }
  const std::string* dir = Single(flags, "dir");
  if (dir == nullptr || dir->empty()) {
    return Usage("keygen needs --dir DIR");
  }
  if (mkdir(dir->c_str(), 0700) != 0 && errno != EEXIST) {
    return Failed(
        absl::UnavailableError(absl::StrCat("cannot create ", *dir, ": ", strerror(errno))));
  }
  absl::StatusOr<EvpPkeyPtr> key = GenerateRsaKey(kDevKeyBits);
  if (!key.ok()) {
    return Failed(key.status());
  }
  absl::StatusOr<std::string> kid = KeyThumbprint(key->get());
  if (!kid.ok()) {
    return Failed(kid.status());
  }
  absl::StatusOr<std::string> jwks = JwksJson({{*kid, key->get()}});
  if (!jwks.ok()) {
    return Failed(jwks.status());
  }
  const std::string key_path = *dir + "/dev-key.pem";
  const std::string jwks_path = *dir + "/jwks.json";
  if (absl::Status written = WritePrivateKeyPem(key_path, key->get()); !written.ok()) {
    return Failed(written);
  }
  std::ofstream out(jwks_path, std::ios::trunc);
  out << *jwks << "\n";
  out.close();
  if (!out) {
    return Failed(absl::UnavailableError(absl::StrCat("cannot write ", jwks_path)));
  }
  std::fprintf(stderr, "wrote %s (private, local development only) and %s (kid %s)\n",
               key_path.c_str(), jwks_path.c_str(), kid->c_str());
  return kExitOk;
}

int Mint(int argc, char** argv) {
  std::map<std::string, std::vector<std::string>> flags;
  std::string problem;
  const std::vector<std::string_view> multi = {"role",       "group",  "scope",      "claim",
                                               "drop-claim", "header", "drop-header"};
  std::vector<std::string_view> known = {"dev-key", "issuer", "audience", "tenant",
                                         "subject", "app-id", "ttl-s",    "nbf-s",
                                         "iat-s",   "now-s",  "kid"};
  known.insert(known.end(), multi.begin(), multi.end());
  if (!ParseFlags(argc, argv, known, multi, &flags, &problem)) {
    return Usage(problem);
  }
  const std::string* key_path = Single(flags, "dev-key");
  if (key_path == nullptr) {
    return Usage("mint needs an explicit --dev-key PATH (local development only)");
  }
  const std::string* issuer = Single(flags, "issuer");
  const std::string* audience = Single(flags, "audience");
  if (issuer == nullptr || audience == nullptr) {
    return Usage("mint needs --issuer and --audience");
  }
  int64_t ttl_s = kDefaultTtlS;
  int64_t nbf_offset_s = 0;
  int64_t iat_offset_s = 0;
  int64_t now_s = static_cast<int64_t>(std::time(nullptr));
  if (!IntFlag(flags, "ttl-s", &ttl_s, &problem) ||
      !IntFlag(flags, "nbf-s", &nbf_offset_s, &problem) ||
      !IntFlag(flags, "iat-s", &iat_offset_s, &problem) ||
      !IntFlag(flags, "now-s", &now_s, &problem)) {
    return Usage(problem);
  }
  const std::string* tenant_flag = Single(flags, "tenant");
  const std::string tenant = tenant_flag != nullptr ? *tenant_flag : kDevTenant;
  const std::string* subject_flag = Single(flags, "subject");
  const std::string* app_flag = Single(flags, "app-id");
  const std::vector<std::string> scopes = All(flags, "scope");

  picojson::object payload;
  payload["ver"] = picojson::value("2.0");
  payload["iss"] = picojson::value(Replace(*issuer, "{tenantid}", tenant));
  payload["aud"] = picojson::value(*audience);
  payload["tid"] = picojson::value(tenant);
  payload["oid"] = picojson::value(subject_flag != nullptr ? *subject_flag : kDevSubject);
  payload["sub"] = payload["oid"];
  payload["azp"] = picojson::value(app_flag != nullptr ? *app_flag : kDevAppId);
  payload["azpacr"] = picojson::value("2");
  payload["idtyp"] = picojson::value(scopes.empty() ? "app" : "user");
  payload["uti"] = picojson::value(RandomId());
  payload["iat"] = picojson::value(now_s + iat_offset_s);
  payload["nbf"] = picojson::value(now_s + nbf_offset_s);
  payload["exp"] = picojson::value(now_s + ttl_s);
  if (flags.count("role") != 0) {
    payload["roles"] = StringArray(All(flags, "role"));
  }
  if (flags.count("group") != 0) {
    payload["groups"] = StringArray(All(flags, "group"));
  }
  if (!scopes.empty()) {
    std::string scp;
    for (const std::string& scope : scopes) {
      absl::StrAppend(&scp, scp.empty() ? "" : " ", scope);
    }
    payload["scp"] = picojson::value(scp);
  }
  picojson::object header;
  header["typ"] = picojson::value("JWT");
  header["alg"] = picojson::value("RS256");
  if (!ApplyAssignments(All(flags, "claim"), "claim", &payload, &problem) ||
      !ApplyAssignments(All(flags, "header"), "header", &header, &problem)) {
    return Usage(problem);
  }
  for (const std::string& name : All(flags, "drop-claim")) {
    payload.erase(name);
  }

  absl::StatusOr<EvpPkeyPtr> key = ReadPrivateKeyPem(*key_path);
  if (!key.ok()) {
    return Failed(key.status());
  }
  if (EVP_PKEY_is_a(key->get(), "RSA") != 1) {
    return Failed(absl::InvalidArgumentError(absl::StrCat(*key_path, " is not an RSA key")));
  }
  if (header.count("kid") == 0) {
    const std::string* kid_flag = Single(flags, "kid");
    absl::StatusOr<std::string> kid =
        kid_flag != nullptr ? absl::StatusOr<std::string>(*kid_flag) : KeyThumbprint(key->get());
    if (!kid.ok()) {
      return Failed(kid.status());
    }
    header["kid"] = picojson::value(*kid);
  }
  for (const std::string& name : All(flags, "drop-header")) {
    header.erase(name);
  }
  absl::StatusOr<std::string> token = SignJws(header, payload, key->get());
  if (!token.ok()) {
    return Failed(token.status());
  }
  std::fprintf(stdout, "%s\n", token->c_str());
  return kExitOk;
}

}  // namespace

int RunTokenCommand(int argc, char** argv) {
  if (argc < 2) {
    return Usage("missing subcommand (keygen or mint)");
  }
  const std::string_view command = argv[1];
  if (command == "keygen") {
    return Keygen(argc, argv);
  }
  if (command == "mint") {
    return Mint(argc, argv);
  }
  if (command == "--help" || command == "help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  return Usage(absl::StrCat("unknown subcommand ", Quote(command)));
}

}  // namespace jitgate::auth
