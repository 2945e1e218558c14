// Schema binding: reads a recipe section into a plain options struct, checking types and
// ranges and collecting every problem (with file, line and key path) instead of stopping at
// the first. One bind function per struct serves parsing, `ptm validate` and the fully
// resolved dump (defaults are recorded so `ptm config` can show them).
//
//   void bind(config::Section& s, TrainConfig& c) {
//     s.opt("max_steps", c.max_steps, "optimizer steps").min(1);
//     s.opt("precision", c.precision, "auto|fp32|bf16|fp16").one_of({"auto", "fp32", "bf16", "fp16"});
//     s.finish();  // unknown keys -> "unknown key (did you mean ...?)"
//   }
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ptm/config/node.h"

namespace ptm::config {

// Problems and recorded defaults of one binding pass over a recipe.
class BindContext {
 public:
  explicit BindContext(std::string recipe_name = "recipe") : recipe_name_(std::move(recipe_name)) {}
  void add(const Origin& where, const std::string& path, const std::string& message);
  const std::vector<Diagnostic>& problems() const { return problems_; }
  void throw_if_any() const;  // ConfigError with all problems
  // Defaults that were not in the recipe, as (dotted path, value).
  const std::vector<std::pair<std::string, Node>>& defaults() const { return defaults_; }
  void record_default(const std::string& path, Node value) { defaults_.emplace_back(path, std::move(value)); }
  const std::string& recipe_name() const { return recipe_name_; }

 private:
  std::string recipe_name_;
  std::vector<Diagnostic> problems_;
  std::vector<std::pair<std::string, Node>> defaults_;
};

// Scalar conversions. Each returns false and sets `expected` (e.g. "an integer") on mismatch.
bool convert(const Node& n, bool& out, std::string& expected);
bool convert(const Node& n, int& out, std::string& expected);
bool convert(const Node& n, int64_t& out, std::string& expected);
bool convert(const Node& n, double& out, std::string& expected);
bool convert(const Node& n, std::string& out, std::string& expected);
template <class T>
bool convert(const Node& n, std::vector<T>& out, std::string& expected) {
  T probe{};
  std::string item;
  convert(Node::null(), probe, item);  // fills `item` with what one element must be
  expected = "a list whose items are each " + item;
  if (!n.is_sequence()) return false;
  std::vector<T> tmp;
  for (const auto& element : n.items()) {
    T v{};
    if (!convert(element, v, item)) return false;
    tmp.push_back(std::move(v));
  }
  out = std::move(tmp);
  return true;
}

// Values back to recipe text (for recorded defaults and dumps).
Node to_node(bool v);
Node to_node(int v);
Node to_node(int64_t v);
Node to_node(double v);
Node to_node(const std::string& v);
template <class T>
Node to_node(const std::vector<T>& v) {
  Node seq = Node::sequence();
  for (const auto& x : v) seq.push_back(to_node(x));
  return seq;
}

class Section;

// Range and choice checks on a field that was just read; chained after Section::opt/req.
template <class T>
class Check {
 public:
  Check(Section* s, const std::string& key, const T* value, bool ok) : s_(s), key_(key), v_(value), ok_(ok) {}
  Check& min(T lo);
  Check& max(T hi);
  Check& above(T lo);  // strictly greater
  Check& one_of(const std::vector<std::string>& choices);
  bool ok() const { return ok_; }  // false when the value was missing or malformed

 private:
  Section* s_;
  std::string key_;
  const T* v_;
  bool ok_;  // the value converted; checks on a bad value would only repeat the error
};

class Section {
 public:
  // `node` may be null (the section is absent: every field takes its default).
  Section(BindContext& ctx, const Node* node, std::string path, Origin fallback);

  template <class T>
  Check<T> opt(const std::string& key, T& value, const std::string& help) {
    return read(key, value, help, /*required=*/false);
  }
  template <class T>
  Check<T> req(const std::string& key, T& value, const std::string& help) {
    return read(key, value, help, /*required=*/true);
  }

  // A nested map section (absent -> empty). The key counts as known.
  Section sub(const std::string& key);
  // The raw node under key (for components); marks it known. Null when absent.
  const Node* raw(const std::string& key);
  // Marks a key as known without reading it (its owner reads it elsewhere).
  void allow(const std::string& key) { known_.push_back(key); }

  // Reports keys that no opt/req/sub/raw asked for.
  void finish();

  const Node* node() const { return node_; }
  const std::string& path() const { return path_; }
  std::string path_of(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const Origin& where(const std::string& key) const;  // the key's origin or the section's
  BindContext& context() { return ctx_; }
  void problem(const std::string& key, const std::string& message) { ctx_.add(where(key), path_of(key), message); }

 private:
  template <class T>
  Check<T> read(const std::string& key, T& value, const std::string& help, bool required) {
    known_.push_back(key);
    const Node* n = node_ ? node_->find(key) : nullptr;
    if (!n) {
      if (required)
        ctx_.add(origin_, path_of(key), "missing required key (" + help + ")");
      else
        ctx_.record_default(path_of(key), to_node(value));
      return Check<T>(this, key, &value, !required);
    }
    std::string expected;
    if (!convert(*n, value, expected)) {
      ctx_.add(n->origin(), path_of(key), "expected " + expected + ", got " + describe(*n));
      return Check<T>(this, key, &value, false);
    }
    return Check<T>(this, key, &value, true);
  }
  static std::string describe(const Node& n);

  BindContext& ctx_;
  const Node* node_;
  std::string path_;
  Origin origin_;
  std::vector<std::string> known_;
  bool bad_kind_ = false;
};

std::string suggestion(const std::string& word, const std::vector<std::string>& choices);
std::string value_text(int v);
std::string value_text(int64_t v);
std::string value_text(double v);
std::string value_text(const std::string& v);

template <class T>
Check<T>& Check<T>::min(T lo) {
  if (ok_ && *v_ < lo) s_->problem(key_, "must be >= " + value_text(lo) + ", got " + value_text(*v_));
  return *this;
}
template <class T>
Check<T>& Check<T>::max(T hi) {
  if (ok_ && *v_ > hi) s_->problem(key_, "must be <= " + value_text(hi) + ", got " + value_text(*v_));
  return *this;
}
template <class T>
Check<T>& Check<T>::above(T lo) {
  if (ok_ && !(*v_ > lo)) s_->problem(key_, "must be > " + value_text(lo) + ", got " + value_text(*v_));
  return *this;
}
template <class T>
Check<T>& Check<T>::one_of(const std::vector<std::string>& choices) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!ok_) return *this;
    for (const auto& c : choices)
      if (*v_ == c) return *this;
    std::string msg = "'" + *v_ + "' is not one of: ";
    for (size_t i = 0; i < choices.size(); ++i) msg += (i ? ", " : "") + choices[i];
    s_->problem(key_, msg + suggestion(*v_, choices));
  }
  return *this;
}

// The recipe with every recorded default filled in: what `ptm config` prints and what a run
// directory's config.yaml holds.
Node with_defaults(const Node& recipe, const BindContext& ctx);

}  // namespace ptm::config
