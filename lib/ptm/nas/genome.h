// A sub-network of an elastic model as a small value: per layer, the attention heads and the
// MLP width it keeps, or that the layer is dropped. Printable and parseable
// ("12/3072,8/2048,-,6/1536"), so a genome can be named on the command line, in YAML and JSON.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptm::nas {

struct LayerGene {
  int64_t heads = 0;
  int64_t inner = 0;  // heads == 0 && inner == 0: the layer is dropped
  bool operator==(const LayerGene& o) const { return heads == o.heads && inner == o.inner; }
  bool operator<(const LayerGene& o) const { return heads != o.heads ? heads < o.heads : inner < o.inner; }
};

struct Genome {
  std::vector<LayerGene> layers;

  bool kept(size_t layer) const;
  int64_t depth() const;  // kept layers
  // One entry per layer, "HEADS/INNER" or "-" for a dropped layer, joined by commas.
  std::string str() const;
  // The str() form (spaces around entries allowed); ptm::ConfigError naming `where` and the
  // entry on bad text.
  static Genome parse(const std::string& text, const std::string& where);
  nlohmann::json to_json() const;  // the str() form
  static Genome from_json(const nlohmann::json& j, const std::string& where);

  bool operator==(const Genome& o) const { return layers == o.layers; }
  bool operator!=(const Genome& o) const { return !(*this == o); }
  bool operator<(const Genome& o) const { return layers < o.layers; }
};

// The str() form, so test frameworks and logs print genomes readably.
inline std::ostream& operator<<(std::ostream& os, const Genome& g) { return os << g.str(); }

}  // namespace ptm::nas
