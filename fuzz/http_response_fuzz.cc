// fuzz/http_response_fuzz.cc: the HTTP/1.1 response decoder of the JWKS fetcher
// (src/auth/https_fetch.h DecodeHttpResponse) and the JWKS URL parser.
//
// Oracles: never crashes; a decoded body is at most the body limit; decoding is deterministic;
// feeding the same bytes with at_eof=false never yields a different body than at_eof=true when
// both say complete (more bytes can only be needed, never change a complete answer). The first
// input byte picks the body limit; the rest is the response. URLs: an accepted URL has a host
// and a path starting with '/'.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/fuzz_target.h"
#include "src/auth/https_fetch.h"

namespace {

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const size_t body_size_max = size_t{data[0]} * 64;
  const std::string_view response(reinterpret_cast<const char*>(data + 1), size - 1);

  bool complete_eof = false;
  const auto at_eof = jitgate::auth::DecodeHttpResponse(response, true, body_size_max,
                                                        &complete_eof);
  bool complete_again = false;
  const auto again = jitgate::auth::DecodeHttpResponse(response, true, body_size_max,
                                                       &complete_again);
  Require(at_eof.ok() == again.ok() && complete_eof == complete_again);
  if (at_eof.ok() && again.ok()) {
    Require(*at_eof == *again);
  }
  if (at_eof.ok() && complete_eof) {
    Require(at_eof->size() <= body_size_max);
  }
  bool complete_live = false;
  const auto live = jitgate::auth::DecodeHttpResponse(response, false, body_size_max,
                                                      &complete_live);
  if (live.ok() && complete_live && at_eof.ok() && complete_eof) {
    Require(*live == *at_eof);
  }

  const auto url = jitgate::auth::ParseHttpsUrl(response);
  if (url.ok()) {
    Require(!url->host.empty());
    Require(!url->path.empty() && url->path[0] == '/');
  }
  return 0;
}
