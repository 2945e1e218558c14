// Genome text form: parsing with messages that name the entry.
#include "ptm/nas/genome.h"

#include <cctype>
#include <limits>

#include "ptm/core/errors.h"

namespace ptm::nas {
namespace {

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// A positive decimal integer, or -1 when `s` is not one (no sign, no spaces, no overflow).
int64_t positive_int(const std::string& s) {
  if (s.empty() || s.size() > 18) return -1;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v > 0 ? v : -1;
}

}  // namespace

bool Genome::kept(size_t layer) const {
  return layer < layers.size() && !(layers[layer].heads == 0 && layers[layer].inner == 0);
}

int64_t Genome::depth() const {
  int64_t n = 0;
  for (size_t i = 0; i < layers.size(); ++i) n += kept(i) ? 1 : 0;
  return n;
}

std::string Genome::str() const {
  std::string out;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i) out += ",";
    out += kept(i) ? std::to_string(layers[i].heads) + "/" + std::to_string(layers[i].inner) : "-";
  }
  return out;
}

Genome Genome::parse(const std::string& text, const std::string& where) {
  const auto fail = [&](const std::string& msg) -> void {
    throw ConfigError(Origin{}, where, "bad genome '" + text + "': " + msg);
  };
  Genome g;
  if (trim(text).empty()) fail("empty; expected one entry per layer, e.g. 12/3072,8/2048,-,6/1536");
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string entry = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    const std::string at = "layer " + std::to_string(g.layers.size()) + " ('" + entry + "')";
    if (entry == "-") {
      g.layers.push_back({});
    } else {
      const size_t slash = entry.find('/');
      if (slash == std::string::npos) fail(at + ": expected HEADS/INNER (e.g. 8/2048) or '-' for a dropped layer");
      const int64_t h = positive_int(trim(entry.substr(0, slash))), w = positive_int(trim(entry.substr(slash + 1)));
      if (h < 0) fail(at + ": heads must be a positive integer");
      if (w < 0) fail(at + ": MLP width must be a positive integer");
      g.layers.push_back({h, w});
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return g;
}

nlohmann::json Genome::to_json() const { return str(); }

Genome Genome::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_string())
    throw ConfigError(Origin{}, where, "expected a genome string such as \"12/3072,8/2048,-\", got " + j.dump());
  return parse(j.get<std::string>(), where);
}

}  // namespace ptm::nas
