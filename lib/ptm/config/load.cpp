// yaml-cpp -> Node conversion and include resolution.
#include "ptm/config/load.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "ptm/core/fs_util.h"
#include "ptm/core/text.h"

namespace fs = std::filesystem;

namespace ptm::config {
namespace {

Origin origin_of(const YAML::Node& n, const std::string& source) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return Origin{source, 0, 0};
  return Origin{source, m.line + 1, m.column + 1};
}

// Deeper than any recipe: an alias inside its own anchor (`a: &x {b: *x}`) makes yaml-cpp's
// node graph a cycle, which converted without a bound recursed until the stack overflowed
// (found by fuzzing).
// Aliases repeated inside anchors can also expand exponentially without a cycle ("billion
// laughs", found by fuzzing too): the maps and lists converted are counted against a bound.
// Either limit gives one message; what follows converts to nothing.
constexpr int kMaxDepth = 64;
constexpr size_t kMaxCollections = 100'000;

Node convert(const YAML::Node& y, const std::string& source, const std::string& path,
             std::vector<Diagnostic>& problems, size_t& collections, int depth = 0) {
  const Origin origin = origin_of(y, source);
  if (y.IsMap() || y.IsSequence()) {
    if (collections >= kMaxCollections) return Node::null(origin);  // reported already
    if (++collections == kMaxCollections) {
      problems.push_back({origin, path,
                          "more than " + std::to_string(kMaxCollections) +
                              " maps and lists (aliases expanding into aliases?)"});
      return Node::null(origin);
    }
    if (depth > kMaxDepth) {
      problems.push_back({origin, path,
                          "nested deeper than " + std::to_string(kMaxDepth) +
                              " levels (an alias inside its own anchor?)"});
      collections = kMaxCollections;
      return Node::null(origin);
    }
  }
  switch (y.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Node::null(origin);
    case YAML::NodeType::Scalar:
      // yaml-cpp tags quoted scalars "!" and plain ones "?".
      return Node::scalar(y.Scalar(), origin, y.Tag() == "!");
    case YAML::NodeType::Sequence: {
      Node seq = Node::sequence(origin);
      size_t i = 0;
      for (const auto& item : y) seq.push_back(convert(item, source, path + "[" + std::to_string(i++) + "]", problems, collections, depth + 1));
      return seq;
    }
    case YAML::NodeType::Map: {
      Node map = Node::map(origin);
      for (const auto& kv : y) {
        if (!kv.first.IsScalar()) {
          problems.push_back({origin_of(kv.first, source), path, "map keys must be plain names"});
          continue;
        }
        const std::string key = kv.first.Scalar();
        const std::string child = path.empty() ? key : path + "." + key;
        if (map.find(key)) {
          problems.push_back({origin_of(kv.first, source), child, "duplicate key"});
          continue;
        }
        Node value = convert(kv.second, source, child, problems, collections, depth + 1);
        // Blocks and empty values point at their key's line, which is where users look.
        if (!value.is_scalar()) value.set_origin(origin_of(kv.first, source));
        map.set(key, std::move(value));
      }
      return map;
    }
  }
  return Node::null(origin);
}

std::vector<std::pair<std::string, Origin>> base_paths(const Node& base_node, const std::string& file) {
  std::vector<std::pair<std::string, Origin>> out;
  auto bad = [&](const Origin& o) {
    return ConfigError(o, "base", "expected a file path or a list of file paths");
  };
  if (base_node.is_scalar()) {
    out.emplace_back(base_node.text(), base_node.origin());
  } else if (base_node.is_sequence()) {
    for (const auto& item : base_node.items()) {
      if (!item.is_scalar()) throw bad(item.origin());
      out.emplace_back(item.text(), item.origin());
    }
  } else if (!base_node.is_null()) {
    throw bad(base_node.origin());
  }
  return out;
}

Node load_with_bases(const std::string& path, std::vector<std::string>& chain) {
  const std::string canonical = fs::weakly_canonical(fs::absolute(path)).string();
  Node body = parse_yaml(fs_util::read_file(path), path);
  if (body.is_null()) body = Node::map(Origin{path, 1, 1});
  if (!body.is_map())
    throw ConfigError(body.origin(), "", "a recipe must be a map of sections, got a " + body.kind_name());

  const Node* base_node = body.find("base");
  if (!base_node) return body;

  chain.push_back(canonical);
  Node merged = Node::map(body.origin());
  const fs::path dir = fs::path(path).parent_path();
  for (const auto& [rel, where] : base_paths(*base_node, path)) {
    const fs::path full = fs::path(rel).is_absolute() ? fs::path(rel) : dir / rel;
    const std::string full_canon = fs::weakly_canonical(fs::absolute(full)).string();
    for (const auto& c : chain) {
      if (c == full_canon) {
        std::vector<std::string> names;
        for (const auto& x : chain) names.push_back(fs::path(x).filename().string());
        names.push_back(full.filename().string());
        throw ConfigError(where, "base", "include cycle: " + text::join(names, " -> "));
      }
    }
    if (!fs::is_regular_file(full))
      throw ConfigError(where, "base", "included file '" + full.string() + "' not found");
    merge_into(merged, load_with_bases(full.string(), chain));
  }
  chain.pop_back();
  body.erase("base");
  merge_into(merged, body);
  return merged;
}

}  // namespace

Node parse_yaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    Origin o{source, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0};
    throw ConfigError(o, "", "YAML syntax error: " + e.msg);
  }
  std::vector<Diagnostic> problems;
  size_t collections = 0;
  Node n = convert(root, source, "", problems, collections);
  if (!problems.empty()) throw ConfigError(std::move(problems));
  return n;
}

Node load_recipe(const std::string& path) {
  if (!fs::exists(path)) throw IoError("recipe '" + path + "' not found");
  if (fs::is_directory(path)) throw IoError("recipe '" + path + "' is a directory, expected a YAML file");
  std::vector<std::string> chain;
  return load_with_bases(path, chain);
}

}  // namespace ptm::config
