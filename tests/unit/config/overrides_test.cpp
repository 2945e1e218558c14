// key.path=value overrides: YAML typing, creation of maps, deletion, errors.
#include "catch.h"
#include "ptm/config/binder.h"
#include "ptm/config/load.h"
#include "ptm/config/overrides.h"

using namespace ptm::config;

namespace {
Node recipe() { return parse_yaml("train:\n  lr: 0.1\n  sizes: [1, 2]\nrun:\n  name: x\n", "r.yaml"); }
}

TEST_CASE("overrides are typed as YAML scalars and lists", "[unit][config]") {
  Node n = recipe();
  apply_overrides(n, {"train.lr=1e-4", "train.sizes=[3, 4, 5]", "train.name=\"007\"", "model.dim=64"});
  const Node* lr = n.find("train")->find("lr");
  CHECK(lr->text() == "1e-4");
  CHECK_FALSE(lr->quoted());
  CHECK(lr->origin().file == "override 'train.lr=1e-4'");
  CHECK(n.find("train")->find("sizes")->items().size() == 3);
  CHECK(n.find("train")->find("name")->quoted());
  CHECK(n.find("model")->find("dim")->text() == "64");  // missing maps are created
  double lr_value = 0;
  std::string expected;
  CHECK(convert(*lr, lr_value, expected));
  CHECK(lr_value == Approx(1e-4));
}

TEST_CASE("overrides apply in order and reach list items", "[unit][config]") {
  Node n = recipe();
  apply_overrides(n, {"train.lr=1", "train.lr=2", "train.sizes.1=9"});
  CHECK(n.find("train")->find("lr")->text() == "2");
  CHECK(n.find("train")->find("sizes")->items()[1].text() == "9");
}

TEST_CASE("a tilde before a key path deletes the key", "[unit][config]") {
  Node n = recipe();
  apply_overrides(n, {"~train.lr"});
  CHECK(n.find("train")->find("lr") == nullptr);
  CHECK(n.find("train")->find("sizes") != nullptr);
}

TEST_CASE("malformed overrides are all reported together", "[unit][config]") {
  Node n = recipe();
  try {
    apply_overrides(n, {"~train.nope", "train.lr.x=1", "=3", "train..lr=1", "train.sizes.7=1", "novalue"});
    FAIL("expected ConfigError");
  } catch (const ptm::ConfigError& e) {
    REQUIRE(e.diagnostics().size() == 6);
    CHECK(e.diagnostics()[0].message.find("no such key") != std::string::npos);
    CHECK(e.diagnostics()[1].message.find("which is a scalar") != std::string::npos);
    CHECK(e.diagnostics()[4].message.find("out of range") != std::string::npos);
    CHECK(e.diagnostics()[5].message.find("key.path=value") != std::string::npos);
  }
}

TEST_CASE("a list index too large for an integer is out of range, not a crash", "[unit][config]") {
  // std::stoul threw std::out_of_range past the ConfigError handling (fuzz/corpus/recipe/crash_index_overflow).
  Node n = recipe();
  for (const char* arg : {"train.sizes.99999999999999999999999=1", "train.sizes.99999999999999999999999.x=1"}) {
    INFO(arg);
    try {
      apply_overrides(n, {arg});
      FAIL("expected ConfigError");
    } catch (const ptm::ConfigError& e) {
      CHECK(e.diagnostics()[0].message.find("list index out of range") != std::string::npos);
    }
  }
}
