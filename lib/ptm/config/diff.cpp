// Recipe tree differences.
#include "ptm/config/diff.h"

namespace ptm::config {
namespace {

void diff_into(const Node* a, const Node* b, const std::string& path, std::vector<Change>& out) {
  const std::string absent = "(absent)";
  if (a && b && a->is_map() && b->is_map()) {
    for (const auto& [key, value] : a->entries())
      diff_into(&value, b->find(key), path.empty() ? key : path + "." + key, out);
    for (const auto& [key, value] : b->entries())
      if (!a->find(key)) diff_into(nullptr, &value, path.empty() ? key : path + "." + key, out);
    return;
  }
  if (a && b && same_value(*a, *b)) return;
  out.push_back({path, a ? one_line(*a) : absent, b ? one_line(*b) : absent});
}

}  // namespace

std::string one_line(const Node& n) {
  switch (n.kind()) {
    case Node::Kind::Null:
      return "null";
    case Node::Kind::Scalar:
      return n.quoted() ? "\"" + n.text() + "\"" : n.text();
    case Node::Kind::Sequence: {
      std::string s = "[";
      for (const auto& item : n.items()) s += (s.size() > 1 ? ", " : "") + one_line(item);
      return s + "]";
    }
    case Node::Kind::Map: {
      std::string s = "{";
      for (const auto& [key, value] : n.entries()) s += (s.size() > 1 ? ", " : "") + key + ": " + one_line(value);
      return s + "}";
    }
  }
  return "";
}

std::vector<Change> diff(const Node& before, const Node& after) {
  std::vector<Change> out;
  diff_into(&before, &after, "", out);
  return out;
}

}  // namespace ptm::config
