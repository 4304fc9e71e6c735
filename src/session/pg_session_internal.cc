// src/session/pg_session_internal.cc: the helpers of pg_session_internal.h (start-up parameter
// hygiene, text clipping, the encoders only the gateway needs live in pg_session_backend.cc).
#include "src/session/pg_session_internal.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jitgate::session::internal {

// Startup parameters the gateway never passes on: identity is the gateway's to choose
// (PROTOCOLS.md 3.2 "Startup parameter hygiene"). Compared case-insensitively, as GUC names are.
constexpr std::string_view kDroppedParams[] = {
    "user", "database", "replication", "role", "session_authorization", "is_superuser",
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] + 32) : a[i];
    const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) {
      return false;
    }
  }
  return true;
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) {
    return false;
  }
  for (size_t at = 0; at + needle.size() <= haystack.size(); ++at) {
    if (EqualsIgnoreCase(haystack.substr(at, needle.size()), needle)) {
      return true;
    }
  }
  return false;
}

bool IsDroppedParam(std::string_view name) {
  for (std::string_view dropped : kDroppedParams) {
    if (EqualsIgnoreCase(name, dropped)) {
      return true;
    }
  }
  return name.starts_with("_pq_.");
}


std::string Clip(std::string_view text, size_t size_max) {
  std::string out;
  for (char c : text.substr(0, size_max)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (text.size() > size_max) {
    out += "...";
  }
  return out;
}

// Keeps the -c/--name=value settings of an `options` string whose names are not identity
// settings; drops every other switch (-d, -D, -P, ...), which are server debugging knobs.
// Backslash escapes a space or a backslash, as the server's pg_split_opts reads it.
std::string FilterOptions(std::string_view options, std::string* dropped) {
  std::vector<std::string> words;
  std::string word;
  bool escaped = false;
  for (char c : options) {
    if (escaped) {
      word.push_back(c);
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!word.empty()) {
        words.push_back(std::move(word));
        word.clear();
      }
    } else {
      word.push_back(c);
    }
  }
  if (!word.empty()) {
    words.push_back(std::move(word));
  }
  std::string out;
  auto keep = [&](std::string_view setting) {
    const size_t eq = setting.find('=');
    std::string_view name = setting.substr(0, eq);
    std::string normalized(name);
    std::replace(normalized.begin(), normalized.end(), '-', '_');
    if (eq == std::string_view::npos || IsDroppedParam(normalized)) {
      if (!dropped->empty()) {
        dropped->push_back(' ');
      }
      dropped->append(name);
      return;
    }
    if (!out.empty()) {
      out.push_back(' ');
    }
    out += "-c ";
    for (char c : setting) {
      if (c == ' ' || c == '\\') {
        out.push_back('\\');
      }
      out.push_back(c);
    }
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "-c" && i + 1 < words.size()) {
      keep(words[++i]);
    } else if (w.starts_with("-c") && w.size() > 2) {
      keep(std::string_view(w).substr(2));
    } else if (w.starts_with("--") && w.size() > 2) {
      keep(std::string_view(w).substr(2));
    } else {
      if (!dropped->empty()) {
        dropped->push_back(' ');
      }
      dropped->append(w);
    }
  }
  return out;
}


}  // namespace jitgate::session::internal
