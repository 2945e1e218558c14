// The malformed-recipe corpus (tests/fixtures/bad_recipes/*.yaml): every file must make
// `ptm validate` and `ptm config` exit 2 with the messages its "# expect:" lines name, and
// leave no run directory behind.
#include <filesystem>
#include <fstream>

#include "catch.h"
#include "helpers.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::run_ptm;

namespace {

std::vector<std::string> expectations(const fs::path& recipe) {
  std::ifstream in(recipe);
  std::vector<std::string> out;
  std::string line;
  const std::string tag = "# expect: ";
  while (std::getline(in, line))
    if (line.rfind(tag, 0) == 0) out.push_back(line.substr(tag.size()));
  return out;
}

}  // namespace

TEST_CASE("every malformed recipe exits 2 naming the key and line", "[integration][cli]") {
  const fs::path dir = fs::path(ptm::test::fixtures_dir()) / "bad_recipes";
  size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    const auto expected = expectations(entry.path());
    REQUIRE_FALSE(expected.empty());  // each fixture states what it must produce
    const std::string rel = "tests/fixtures/bad_recipes/" + entry.path().filename().string();
    ptm::test::TempDir tmp;
    const std::string run_dir = tmp.file("run");
    for (const char* command : {"validate", "config"}) {
      const auto r = run_ptm(std::string(command) + " --config " + rel + " --run-dir " + run_dir);
      INFO(command << " " << rel << "\nstderr: " << r.err);
      CHECK(r.exit_code == 2);
      CHECK(r.out.empty());
      CHECK(contains(r.err, "ptm: error: "));
      CHECK_FALSE(contains(r.err, "terminate called"));
      for (const auto& e : expected) CHECK(contains(r.err, e));
      CHECK_FALSE(fs::exists(run_dir));
    }
    ++checked;
  }
  CHECK(checked >= 20);
}
