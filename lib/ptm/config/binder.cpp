// Conversions, section reading and the defaults-filled dump.
#include "ptm/config/binder.h"

#include <algorithm>
#include <cctype>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "ptm/config/overrides.h"
#include "ptm/core/text.h"

namespace ptm::config {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool parse_double(const std::string& t, double& out) {
  const std::string l = lower(t);
  if (l == ".inf" || l == "+.inf") { out = std::numeric_limits<double>::infinity(); return true; }
  if (l == "-.inf") { out = -std::numeric_limits<double>::infinity(); return true; }
  // No setting means "not a number": .nan would pass every min/max check (comparisons with NaN
  // are false) and reach the run.
  if (l == ".nan") return false;
  if (t.empty() || std::isspace(static_cast<unsigned char>(t[0]))) return false;
  // Only decimal notation: strtod would also take "inf", "nan" and hex floats.
  for (char c : l)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == '+' || c == '-')) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && errno != ERANGE;
}

bool parse_int64(const std::string& t, int64_t& out) {
  if (t.empty() || std::isspace(static_cast<unsigned char>(t[0]))) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(t.c_str(), &end, 10);
  if (end == t.c_str() + t.size() && errno != ERANGE) {
    out = v;
    return true;
  }
  // Accept float notation of an exact integer (max_steps: 1e6), as users write it.
  double d = 0;
  if (parse_double(t, d) && std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
    out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

}  // namespace

void BindContext::add(const Origin& where, const std::string& path, const std::string& message) {
  problems_.push_back({where, path, message});
}

void BindContext::throw_if_any() const {
  if (!problems_.empty()) throw ConfigError(problems_);
}

bool convert(const Node& n, bool& out, std::string& expected) {
  expected = "a boolean (true or false)";
  if (!n.is_scalar() || n.quoted()) return false;
  const std::string l = lower(n.text());
  if (l == "true" || l == "yes" || l == "on") { out = true; return true; }
  if (l == "false" || l == "no" || l == "off") { out = false; return true; }
  return false;
}

bool convert(const Node& n, int64_t& out, std::string& expected) {
  expected = "an integer";
  return n.is_scalar() && !n.quoted() && parse_int64(n.text(), out);
}

bool convert(const Node& n, int& out, std::string& expected) {
  int64_t v = 0;
  if (!convert(n, v, expected)) return false;
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    expected = "an integer within 32 bits";
    return false;
  }
  out = static_cast<int>(v);
  return true;
}

bool convert(const Node& n, double& out, std::string& expected) {
  expected = "a number";
  return n.is_scalar() && !n.quoted() && parse_double(n.text(), out);
}

bool convert(const Node& n, std::string& out, std::string& expected) {
  expected = "a string";
  if (!n.is_scalar()) return false;
  out = n.text();
  return true;
}

std::string value_text(int v) { return std::to_string(v); }
std::string value_text(int64_t v) { return std::to_string(v); }
std::string value_text(const std::string& v) { return v; }
std::string value_text(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  // Shortest text that reads back to the same double.
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  // Keep it a float when read back as YAML ("1" would be an integer).
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

Node to_node(bool v) { return Node::scalar(v ? "true" : "false"); }
Node to_node(int v) { return Node::scalar(value_text(v)); }
Node to_node(int64_t v) { return Node::scalar(value_text(v)); }
Node to_node(double v) { return Node::scalar(value_text(v)); }
Node to_node(const std::string& v) {
  // Quote only what a plain scalar would read back as something other than this string.
  double d;
  std::string e;
  bool b;
  const Node plain = Node::scalar(v);
  // Control characters and edge spaces are always emitted quoted, so they read back quoted.
  const bool needs_quotes = !v.empty() && (std::isspace(static_cast<unsigned char>(v.front())) ||
                                           std::isspace(static_cast<unsigned char>(v.back())) ||
                                           std::any_of(v.begin(), v.end(), [](char c) {
                                             return static_cast<unsigned char>(c) < 0x20;
                                           }));
  const bool ambiguous = v.empty() || v == "~" || lower(v) == "null" || parse_double(v, d) ||
                         convert(plain, b, e) || needs_quotes;
  return Node::scalar(v, {}, ambiguous);
}

std::string suggestion(const std::string& word, const std::vector<std::string>& choices) {
  return text::did_you_mean(word, choices);
}

Section::Section(BindContext& ctx, const Node* node, std::string path, Origin fallback)
    : ctx_(ctx), node_(node), path_(std::move(path)), origin_(std::move(fallback)) {
  if (node_ && node_->is_null()) node_ = nullptr;  // "train:" with nothing under it
  if (node_) origin_ = node_->origin();
  if (node_ && !node_->is_map()) {
    ctx_.add(node_->origin(), path_, "expected a map of settings, got a " + node_->kind_name());
    node_ = nullptr;
    bad_kind_ = true;
  }
}

std::string Section::describe(const Node& n) {
  if (n.is_scalar()) return (n.quoted() ? "the string \"" : "'") + n.text() + (n.quoted() ? "\"" : "'");
  return "a " + n.kind_name();
}

const Origin& Section::where(const std::string& key) const {
  const Node* n = node_ ? node_->find(key) : nullptr;
  return n ? n->origin() : origin_;
}

Section Section::sub(const std::string& key) {
  known_.push_back(key);
  return Section(ctx_, node_ ? node_->find(key) : nullptr, path_of(key), origin_);
}

const Node* Section::raw(const std::string& key) {
  known_.push_back(key);
  return node_ ? node_->find(key) : nullptr;
}

void Section::finish() {
  if (!node_) return;
  for (const auto& [key, value] : node_->entries()) {
    bool ok = false;
    for (const auto& k : known_) ok = ok || (k == key);
    if (ok) continue;
    const std::string hint = text::did_you_mean(key, known_);
    std::string msg = "unknown key" + hint;
    if (hint.empty() && !known_.empty()) msg += " (known keys: " + text::join(known_, ", ") + ")";
    ctx_.add(value.origin(), path_of(key), msg);
  }
}

Node with_defaults(const Node& recipe, const BindContext& ctx) {
  Node out = recipe;
  for (const auto& [path, value] : ctx.defaults()) set_path(out, path, value);
  return out;
}

}  // namespace ptm::config
