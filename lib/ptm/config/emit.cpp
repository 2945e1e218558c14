// Emission through yaml-cpp's emitter.
#include "ptm/config/emit.h"

#include <yaml-cpp/yaml.h>

namespace ptm::config {
namespace {

void emit(YAML::Emitter& out, const Node& n) {
  switch (n.kind()) {
    case Node::Kind::Null:
      out << YAML::Null;
      break;
    case Node::Kind::Scalar:
      if (n.quoted())
        out << YAML::DoubleQuoted << n.text();
      else
        out << n.text();
      break;
    case Node::Kind::Sequence: {
      // Short lists of scalars read best inline: [1, 2, 3].
      bool flat = n.items().size() <= 8;
      for (const auto& item : n.items()) flat = flat && item.is_scalar();
      if (flat) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& item : n.items()) emit(out, item);
      out << YAML::EndSeq;
      break;
    }
    case Node::Kind::Map:
      if (n.entries().empty()) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& [k, v] : n.entries()) {
        out << YAML::Key << k << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      break;
  }
}

}  // namespace

std::string to_yaml(const Node& n) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, n);
  std::string s = out.c_str();
  if (s.empty() || s.back() != '\n') s += '\n';
  return s;
}

}  // namespace ptm::config
