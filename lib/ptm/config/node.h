// The recipe tree: a YAML-like value that remembers where every node came from (file and
// line, or the override that set it), so errors can point at the exact spot after
// includes and overrides have been merged.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "ptm/core/errors.h"

namespace ptm::config {

class Node {
 public:
  enum class Kind { Null, Scalar, Sequence, Map };

  Node() = default;
  static Node null(Origin origin = {});
  static Node scalar(std::string text, Origin origin = {}, bool quoted = false);
  static Node sequence(Origin origin = {});
  static Node map(Origin origin = {});

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_scalar() const { return kind_ == Kind::Scalar; }
  bool is_sequence() const { return kind_ == Kind::Sequence; }
  bool is_map() const { return kind_ == Kind::Map; }
  const Origin& origin() const { return origin_; }
  void set_origin(Origin o) { origin_ = std::move(o); }

  // Scalars: the text as written; quoted scalars are always strings.
  const std::string& text() const { return text_; }
  bool quoted() const { return quoted_; }

  // Sequences.
  const std::vector<Node>& items() const { return items_; }
  std::vector<Node>& items() { return items_; }
  void push_back(Node n) { items_.push_back(std::move(n)); }

  // Maps keep insertion order (dumps read like the recipe).
  using Entries = std::vector<std::pair<std::string, Node>>;
  const Entries& entries() const { return entries_; }
  const Node* find(const std::string& key) const;
  Node* find(const std::string& key);
  Node& set(const std::string& key, Node value);  // replaces or appends
  bool erase(const std::string& key);
  std::vector<std::string> keys() const;

  // "scalar", "list", "map" or "null", for messages.
  std::string kind_name() const;

 private:
  Kind kind_ = Kind::Null;
  Origin origin_;
  std::string text_;
  bool quoted_ = false;
  std::vector<Node> items_;
  Entries entries_;
};

// Deep merge: maps merge key by key, everything else in `over` replaces `base`.
void merge_into(Node& base, const Node& over);

// Structural equality of values (origins ignored).
bool same_value(const Node& a, const Node& b);

}  // namespace ptm::config
