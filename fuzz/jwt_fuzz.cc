// fuzz/jwt_fuzz.cc: libFuzzer target for the access-token validator (src/auth/validator.h) and
// the token cache (src/auth/token_cache.h).
// Properties, beyond "no crash or sanitizer report":
//  - a verdict has an identity exactly when its error is kNone, and a non-empty, bounded message
//    otherwise;
//  - validating the same bytes twice gives the same verdict (no hidden state);
//  - an accepted token, cached, is found again with the same identity before it expires.
// Keys: a fixed JWKS (one RSA 2048 and one EC P-256 public key; the private halves made the seeds
// and were thrown away). Time is fixed at 2026-01-01T00:00:00Z, when the valid seeds are good.
// Seed corpus: fuzz/corpus/jwt/ (valid RS256 and ES256 tokens, and one of each common defect).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "src/auth/keys.h"
#include "src/auth/token_cache.h"
#include "src/auth/validator.h"

namespace auth = jitgate::auth;

namespace {

constexpr int64_t kNowS = 1767225600;

constexpr const char kJwks[] =
    R"({"keys":[{"alg":"RS256","e":"AQAB","kid":"fuzz-rsa","kty":"RSA","n":"4etUt5xscogcY1CNoiA)"
    R"(GbTcUN2IHGxorsls-1aC5dGg36FVhBdgU_5uSYZnOfNOZW_STTrxQ-V3GWia6VjwJPQQqqrUF41yGD0ZCX5bYwlM)"
    R"(7MKFbJS0ch_GcJxnSR6USSJlgF4Wp3i1LpCCTsw1wfst9tm3q0-tJkmfb0S0QirxkiIXveWbNfItLqqRbzdS7242)"
    R"(aWPqE2UqMKd2l_ayJD8mL8upigt8YHf6CqyHKUPSppWrfm4NAdSBt1SacRolGjnWiSHqA8q1YW_yGiojcV6myehr)"
    R"(ZphQxNJO985Awm5J6_-uu7zVz6_KRH0q97Ju-XUDVMTfX6H8nAY3wHYmk9Q","use":"sig"},{"alg":"ES256")"
    R"(,"crv":"P-256","kid":"fuzz-ec","kty":"EC","use":"sig","x":"TPl-6XjYqObFTr6sWB6XpBd3lyjiy)"
    R"(3OqOu5dxz8xKAw","y":"dPhzX-cOvzOdmJpQX01HPFxKWVErhR8gLFmxr4wosRw"}]})";

// Longest message a verdict may carry: its own words plus two quoted values of at most 64
// characters (each byte possibly escaped as \xNN, so 4 output characters).
constexpr size_t kMessageSizeMax = 1024;

struct Fixture {
  std::unique_ptr<auth::KeyProvider> keys;
  std::unique_ptr<auth::Validator> validator;
  auth::TokenCache cache{16, 60};
};

Fixture* MakeFixture() {
  auto* fixture = new Fixture();
  absl::StatusOr<std::shared_ptr<const auth::KeySet>> set = auth::KeySet::Parse(kJwks);
  JG_CHECK(set.ok());
  fixture->keys = auth::KeyProvider::FromKeySet(*set);
  auth::ValidatorOptions options;
  options.issuers = {"https://login.microsoftonline.com/{tenantid}/v2.0",
                     "https://sts.windows.net/{tenantid}/"};
  options.audiences = {"api://jitgate"};
  options.tenants = {"72f988bf-86f1-41af-91ab-2d7cd011db47"};
  fixture->validator = std::make_unique<auth::Validator>(options, fixture->keys.get());
  return fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* const fixture = MakeFixture();
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  const auth::Verdict verdict = fixture->validator->Validate(token, kNowS);
  JG_CHECK((verdict.identity != nullptr) == (verdict.error == auth::TokenError::kNone));
  JG_CHECK(verdict.error == auth::TokenError::kNone
               ? verdict.message.empty()
               : !verdict.message.empty() && verdict.message.size() <= kMessageSizeMax);
  JG_CHECK(!auth::TokenErrorName(verdict.error).empty());
  const auth::Verdict again = fixture->validator->Validate(token, kNowS);
  JG_CHECK(again.error == verdict.error && again.message == verdict.message);
  if (verdict.identity != nullptr) {
    JG_CHECK(verdict.identity->expires_at_s + 60 > kNowS);
    JG_CHECK(!verdict.identity->subject.empty());
    fixture->cache.Insert(token, verdict.identity);
    JG_CHECK(fixture->cache.Find(token, kNowS) == verdict.identity);
    fixture->cache.AssertInvariants();
  }
  return 0;
}
