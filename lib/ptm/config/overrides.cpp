// key.path=value and ~key.path handling.
#include "ptm/config/overrides.h"

#include <cctype>
#include <cstdint>

#include "ptm/config/load.h"
#include "ptm/core/text.h"

namespace ptm::config {
namespace {

void set_origin_deep(Node& n, const Origin& o) {
  n.set_origin(o);
  for (auto& item : n.items()) set_origin_deep(item, o);
  for (const auto& key : n.keys()) set_origin_deep(*n.find(key), o);
}

bool valid_path(const std::string& path) {
  if (path.empty()) return false;
  for (const auto& part : text::split(path, '.')) {
    if (part.empty()) return false;
    for (char c : part)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

bool is_index(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// The list index a path part names (all digits); saturates instead of overflowing stoul,
// since no list has that many items.
size_t index_value(const std::string& s) {
  size_t v = 0;
  for (char c : s) {
    if (v > (SIZE_MAX - 9) / 10) return SIZE_MAX;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  return v;
}

// Walks to the parent of the last path component; creates maps when `create`.
Node* walk_to_parent(Node& root, const std::vector<std::string>& parts, bool create, const Origin& o,
                     const std::string& path) {
  Node* cur = &root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& part = parts[i];
    const std::string so_far = text::join({parts.begin(), parts.begin() + i + 1}, ".");
    if (cur->is_sequence() && is_index(part)) {
      const size_t idx = index_value(part);
      if (idx >= cur->items().size())
        throw ConfigError(o, so_far, "list index out of range (the list has " +
                                         std::to_string(cur->items().size()) + " items)");
      cur = &cur->items()[idx];
      continue;
    }
    if (cur->is_null() && create) *cur = Node::map(o);
    if (!cur->is_map())
      throw ConfigError(o, path, "cannot set a key inside '" + (i ? so_far : part) + "', which is a " +
                                     cur->kind_name());
    Node* next = cur->find(part);
    if (!next) {
      if (!create) return nullptr;
      next = &cur->set(part, Node::map(o));
    }
    cur = next;
  }
  return cur;
}

void apply_one(Node& root, const std::string& arg) {
  const Origin o{"override '" + arg + "'"};
  if (!arg.empty() && arg[0] == '~') {
    const std::string path = arg.substr(1);
    if (!valid_path(path)) throw ConfigError(o, path, "expected ~key.path to delete a key");
    const auto parts = text::split(path, '.');
    Node* parent = walk_to_parent(root, parts, false, o, path);
    if (!parent || !parent->is_map() || !parent->erase(parts.back()))
      throw ConfigError(o, path, "cannot delete: no such key in the recipe");
    return;
  }
  const size_t eq = arg.find('=');
  if (eq == std::string::npos) throw ConfigError(o, "", "expected key.path=value or ~key.path");
  const std::string path = arg.substr(0, eq);
  if (!valid_path(path))
    throw ConfigError(o, path, "invalid key path (use dotted names like train.max_steps)");
  Node value = parse_yaml(arg.substr(eq + 1), "override '" + arg + "'");
  set_origin_deep(value, o);
  set_path(root, path, std::move(value));
}

}  // namespace

bool is_override(const std::string& arg) {
  return (!arg.empty() && arg[0] == '~') || arg.find('=') != std::string::npos;
}

void set_path(Node& root, const std::string& path, Node value) {
  const auto parts = text::split(path, '.');
  const Origin o = value.origin();
  Node* parent = walk_to_parent(root, parts, true, o, path);
  if (parent->is_sequence() && is_index(parts.back())) {
    const size_t idx = index_value(parts.back());
    if (idx >= parent->items().size())
      throw ConfigError(o, path, "list index out of range (the list has " +
                                     std::to_string(parent->items().size()) + " items)");
    parent->items()[idx] = std::move(value);
    return;
  }
  if (parent->is_null()) *parent = Node::map(o);
  if (!parent->is_map()) {
    const std::string owner = path.substr(0, path.rfind('.'));
    throw ConfigError(o, path, "cannot set a key inside '" + owner + "', which is a " + parent->kind_name());
  }
  parent->set(parts.back(), std::move(value));
}

void apply_overrides(Node& root, const std::vector<std::string>& args) {
  std::vector<Diagnostic> problems;
  for (const auto& arg : args) {
    try {
      apply_one(root, arg);
    } catch (const ConfigError& e) {
      problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
}

}  // namespace ptm::config
