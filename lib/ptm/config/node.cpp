// Node construction, map access and deep merge.
#include "ptm/config/node.h"

namespace ptm::config {

Node Node::null(Origin origin) {
  Node n;
  n.origin_ = std::move(origin);
  return n;
}

Node Node::scalar(std::string text, Origin origin, bool quoted) {
  Node n;
  n.kind_ = Kind::Scalar;
  n.text_ = std::move(text);
  n.origin_ = std::move(origin);
  n.quoted_ = quoted;
  return n;
}

Node Node::sequence(Origin origin) {
  Node n;
  n.kind_ = Kind::Sequence;
  n.origin_ = std::move(origin);
  return n;
}

Node Node::map(Origin origin) {
  Node n;
  n.kind_ = Kind::Map;
  n.origin_ = std::move(origin);
  return n;
}

const Node* Node::find(const std::string& key) const {
  for (const auto& kv : entries_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

Node* Node::find(const std::string& key) {
  for (auto& kv : entries_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

Node& Node::set(const std::string& key, Node value) {
  if (Node* existing = find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  entries_.emplace_back(key, std::move(value));
  return entries_.back().second;
}

bool Node::erase(const std::string& key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == key) {
      entries_.erase(it);
      return true;
    }
  }
  return false;
}

std::vector<std::string> Node::keys() const {
  std::vector<std::string> out;
  for (const auto& kv : entries_) out.push_back(kv.first);
  return out;
}

std::string Node::kind_name() const {
  switch (kind_) {
    case Kind::Null: return "null";
    case Kind::Scalar: return "scalar";
    case Kind::Sequence: return "list";
    case Kind::Map: return "map";
  }
  return "?";
}

void merge_into(Node& base, const Node& over) {
  if (base.is_map() && over.is_map()) {
    for (const auto& [key, value] : over.entries()) {
      Node* existing = base.find(key);
      // `key: ~` in a recipe removes what its base set (its default applies again).
      if (existing && value.kind() == Node::Kind::Null) {
        base.erase(key);
        continue;
      }
      if (existing && existing->is_map() && value.is_map())
        merge_into(*existing, value);
      else
        base.set(key, value);
    }
    return;
  }
  base = over;
}

bool same_value(const Node& a, const Node& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Node::Kind::Null: return true;
    case Node::Kind::Scalar: return a.text() == b.text() && a.quoted() == b.quoted();
    case Node::Kind::Sequence:
      if (a.items().size() != b.items().size()) return false;
      for (size_t i = 0; i < a.items().size(); ++i)
        if (!same_value(a.items()[i], b.items()[i])) return false;
      return true;
    case Node::Kind::Map:
      if (a.entries().size() != b.entries().size()) return false;
      for (const auto& [k, v] : a.entries()) {
        const Node* o = b.find(k);
        if (!o || !same_value(v, *o)) return false;
      }
      return true;
  }
  return false;
}

}  // namespace ptm::config
