// safetensors: round trips, interop with the reference Python library both ways, sharding,
// and hostile files that must fail with a clear error (never a crash).
#include <sys/wait.h>

#include <cstdlib>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/models/safetensors.h"
#include "ptm/models/safetensors_header.h"

using namespace ptm::models;
using ptm::test::contains;
using ptm::test::error_of;

namespace {

NamedTensors expected() {  // the same values as tests/golden/safetensors_interop.py
  return {{"f32", torch::arange(12, torch::kFloat32).reshape({3, 4}) / 7},
          {"bf16", (torch::arange(6, torch::kFloat32) - 2.5).to(torch::kBFloat16)},
          {"f16", torch::tensor({0.5, -1.25, 65504.0, 1e-3}, torch::kFloat32).reshape({2, 2}).to(torch::kFloat16)},
          {"i64", torch::tensor({int64_t(0), int64_t(-1), int64_t(1) << 40}, torch::kInt64)},
          {"scalar", torch::tensor(3.5f)},
          {"empty", torch::zeros({0, 5})}};
}

int python(const std::string& args) {
  const std::string cmd = std::string("'") + ptm::test::python_exe() + "' '" + ptm::test::source_dir() +
                          "/tests/golden/safetensors_interop.py' " + args + " >/dev/null";
  return WEXITSTATUS(std::system(cmd.c_str()));
}

// A file with the given header JSON and `data` bytes after it.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int b = 0; b < 8; ++b) out[b] = static_cast<char>((header.size() >> (8 * b)) & 0xff);
  return out + header + data;
}

}  // namespace

TEST_CASE("safetensors round trip keeps names order dtypes and bits", "[unit][models]") {
  ptm::test::TempDir d;
  save_safetensors(d.file("a.safetensors"), expected(), {{"format", "pt"}});
  SafetensorsFile f(d.file("a.safetensors"));
  CHECK(f.metadata().at("format") == "pt");
  REQUIRE(f.tensors().size() == 6);
  CHECK(f.tensors()[0].name == "f32");
  for (const auto& [name, t] : expected()) {
    INFO(name);
    const auto got = f.tensor(name);
    CHECK(got.scalar_type() == t.scalar_type());
    CHECK(got.sizes() == t.sizes());
    CHECK(torch::equal(got, t));
  }
}

TEST_CASE("files written by the reference library load and ours load there", "[unit][models]") {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir d;
  REQUIRE(python("write " + d.file("py.safetensors")) == 0);
  const auto loaded = load_safetensors(d.file("py.safetensors"));
  REQUIRE(loaded.size() == 6);
  for (const auto& [name, t] : expected()) {
    const auto it = std::find_if(loaded.begin(), loaded.end(), [&](const auto& nt) { return nt.first == name; });
    REQUIRE(it != loaded.end());
    CHECK(torch::equal(it->second, t));
  }
  save_safetensors(d.file("ptm.safetensors"), expected());
  CHECK(python("check " + d.file("ptm.safetensors")) == 0);
}

TEST_CASE("sharded checkpoints write an index and load back whole", "[unit][models]") {
  ptm::test::TempDir d;
  NamedTensors many;
  for (int i = 0; i < 5; ++i) many.emplace_back("layer." + std::to_string(i), torch::full({256}, float(i)));
  save_sharded(d.file("ckpt"), many, 2048);  // 1 KB each: 2 per shard
  CHECK(ptm::test::read_text(d.file("ckpt/model.safetensors.index.json")).find("model-00003-of-00003") != std::string::npos);
  const auto back = load_safetensors(d.file("ckpt"));
  REQUIRE(back.size() == 5);
  for (const auto& [name, t] : back) CHECK(t[0].item<float>() == float(std::stoi(name.substr(6))));
}

TEST_CASE("hostile safetensors files fail with a clear error", "[unit][models]") {
  ptm::test::TempDir d;
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string eight(8, '\0');
  struct Case {
    const char* name;
    std::string bytes;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"tiny", "abc", "truncated"},
      {"huge_len", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}", "exceeds the 100 MB limit"},
      {"len_past_end", std::string("\x40\x00\x00\x00\x00\x00\x00\x00", 8) + "{}", "runs past the end"},
      {"not_json", raw_file("{not json", ""), "not valid JSON"},
      {"not_object", raw_file("[1,2]", ""), "not a JSON object"},
      {"bad_dtype", raw_file(R"({"a":{"dtype":"F8_E9","shape":[2],"data_offsets":[0,2]}})", "xx"), "unsupported dtype 'F8_E9'"},
      {"past_end", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", eight), "outside the data buffer"},
      {"size_mismatch", raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight), "shape x dtype needs 12"},
      {"overlap", raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight), "overlaps"},
      {"hole", raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight), "belong to no tensor"},
      {"trailing", raw_file(ok_header, eight + "zz"), "trailing bytes"},
      {"negative_dim", raw_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight), "negative dimension"},
      {"missing_keys", raw_file(R"({"a":{"dtype":"F32"}})", ""), "needs dtype, shape and data_offsets"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const std::string path = d.write(std::string(c.name) + ".safetensors", c.bytes);
    const std::string err = error_of([&] { SafetensorsFile f(path); });
    CHECK(contains(err, c.name));  // names the file
    CHECK(contains(err, c.message));
  }
  CHECK_NOTHROW(SafetensorsFile(d.write("fine.safetensors", raw_file(ok_header, eight))));
}

// The size arithmetic follows the reference (safetensors/src/tensor.rs): checked products,
// offsets that tile the buffer exactly, the 100,000,000-byte header limit.
TEST_CASE("safetensors size arithmetic cannot overflow or hide bytes", "[unit][models]") {
  ptm::test::TempDir d;
  const std::string eight(8, '\0');
  struct Case {
    const char* name;
    std::string bytes;
    const char* message;
  };
  std::string len_1e8_plus_1(8, '\0');  // 100,000,001 = 0x05F5E101, just over the limit
  len_1e8_plus_1[0] = '\x01', len_1e8_plus_1[1] = '\xE1', len_1e8_plus_1[2] = '\xF5', len_1e8_plus_1[3] = '\x05';
  const std::vector<Case> cases = {
      {"limit_1e8", len_1e8_plus_1 + "{}", "exceeds the 100 MB limit"},
      // 2^62 F32 elements are 2^64 bytes, which wraps to 0 in 64 bits.
      {"wraps_to_zero", raw_file(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", ""),
       "overflows"},
      {"wraps_two_dims",
       raw_file(R"({"a":{"dtype":"F64","shape":[2147483648,2147483648],"data_offsets":[0,0]}})", ""), "overflows"},
      // A product that overflows before a later zero still overflows (the reference folds in order).
      {"overflow_then_zero",
       raw_file(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})", ""), "overflows"},
      // Torch dimensions are int64: 2^63 would become negative.
      {"dim_past_int64", raw_file(R"({"a":{"dtype":"F32","shape":[0,9223372036854775808],"data_offsets":[0,0]}})", ""),
       "exceeds the int64 range"},
      // An empty tensor placed after a gap must not let the gap pass as covered.
      {"empty_after_hole",
       raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})",
                eight),
       "bytes 4..8 belong to no tensor"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const std::string path = d.write(std::string(c.name) + ".safetensors", c.bytes);
    const std::string err = error_of([&] { SafetensorsFile f(path); });
    CHECK(contains(err, c.name));
    CHECK(contains(err, c.message));
  }
  // Empty tensors at the edges and a zero-length buffer are fine.
  CHECK_NOTHROW(SafetensorsFile(d.write(
      "edges.safetensors",
      raw_file(R"({"e0":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e1":{"dtype":"I8","shape":[3,0],"data_offsets":[8,8]}})",
               eight))));
  CHECK_NOTHROW(SafetensorsFile(d.write("nothing.safetensors", raw_file("{}", ""))));
}

TEST_CASE("the header parser and the torch reader agree on every dtype", "[unit][models]") {
  for (const char* name : {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"}) {
    INFO(name);
    REQUIRE(safetensors_dtype_bytes(name) > 0);
    CHECK(safetensors_dtype_bytes(name) == c10::elementSize(scalar_type_of(name)));
    CHECK(dtype_name(scalar_type_of(name)) == name);
  }
  CHECK(safetensors_dtype_bytes("F8_E4M3") == 0);
  CHECK_THROWS(scalar_type_of("F8_E4M3"));
}
