// Genomes print and parse as "HEADS/INNER" per layer with "-" for dropped layers; bad text
// gets a message naming the key and the layer.
#include "ptm/nas/genome.h"

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"

using namespace ptm::nas;
using ptm::test::contains;
using ptm::test::error_of;

TEST_CASE("a genome round-trips through its text and JSON forms", "[unit][nas]") {
  const Genome g = Genome::parse(" 12/3072, 8/2048 ,-,6/1536", "--genome");
  REQUIRE(g.layers.size() == 4);
  CHECK(g.layers[0] == LayerGene{12, 3072});
  CHECK(g.layers[1] == LayerGene{8, 2048});
  CHECK(g.layers[3] == LayerGene{6, 1536});
  CHECK(g.kept(0));
  CHECK_FALSE(g.kept(2));
  CHECK_FALSE(g.kept(7));
  CHECK(g.depth() == 3);
  CHECK(g.str() == "12/3072,8/2048,-,6/1536");
  CHECK(Genome::parse(g.str(), "x") == g);
  CHECK(g.to_json() == nlohmann::json("12/3072,8/2048,-,6/1536"));
  CHECK(Genome::from_json(g.to_json(), "x") == g);
  CHECK(Genome::parse("-", "x").depth() == 0);
  // Ordered for maps: by layers, then heads, then width.
  CHECK(Genome::parse("2/64,4/64", "x") < Genome::parse("2/128,1/1", "x"));
  CHECK_FALSE(Genome::parse("2/64", "x") < Genome::parse("2/64", "x"));
}

TEST_CASE("bad genome text names the key, the layer and what was expected", "[unit][nas]") {
  const auto msg = [](const std::string& text) { return error_of([&] { Genome::parse(text, "nas.export.genome"); }); };
  CHECK_THROWS_AS(Genome::parse("12x3072", "k"), ptm::ConfigError);
  const std::string a = msg("12/3072,12x3072");
  CHECK(contains(a, "nas.export.genome"));
  CHECK(contains(a, "layer 1 ('12x3072')"));
  CHECK(contains(a, "HEADS/INNER"));
  CHECK(contains(msg("8/0"), "MLP width must be a positive integer"));
  CHECK(contains(msg("-3/64"), "heads must be a positive integer"));
  CHECK(contains(msg("8/64,,-"), "layer 1 ('')"));
  CHECK(contains(msg("8/64,"), "layer 1 ('')"));
  CHECK(contains(msg("  "), "empty"));
  CHECK(contains(msg("8/6.5"), "MLP width"));
  CHECK(contains(msg("99999999999999999999/1"), "heads must be a positive integer"));  // no overflow
  CHECK(contains(error_of([] { Genome::from_json(42, "state.json"); }), "state.json"));
}
