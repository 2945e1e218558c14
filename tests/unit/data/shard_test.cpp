// Token shards: llm.c-compatible header, uint16/uint32 by vocabulary, unsigned widening,
// and clear errors for truncated, foreign or out-of-vocabulary input.
#include <filesystem>
#include <fstream>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/data/shard.h"

using namespace ptm::data;

TEST_CASE("uint16 shards keep ids above 32767 positive", "[unit][data]") {
  ptm::test::TempDir d;
  const std::vector<int32_t> ids{0, 1, 32767, 32768, 50256, 65535};
  {
    ShardWriter w(d.file("a.bin"), 65536);
    w.append(ids);
    w.close();
  }
  const std::string raw = ptm::test::read_text(d.file("a.bin"));
  REQUIRE(raw.size() == 1024 + 2 * ids.size());
  // header[0..3] little endian: magic 20240520, version 1, count, vocab
  CHECK(static_cast<uint8_t>(raw[0]) == (20240520 & 0xff));
  ShardReader r(d.file("a.bin"));
  CHECK(r.size() == 6);
  CHECK(r.token_bytes() == 2);
  CHECK(r.vocab_size() == 65536);
  std::vector<int64_t> out(6);
  r.read(0, 6, out.data());
  CHECK(out == std::vector<int64_t>{0, 1, 32767, 32768, 50256, 65535});
}

TEST_CASE("large vocabularies use uint32 tokens", "[unit][data]") {
  ptm::test::TempDir d;
  ShardWriter w(d.file("b.bin"), 100000);
  w.append(std::vector<int32_t>{99999, 70000, 3});
  w.close();
  ShardReader r(d.file("b.bin"));
  CHECK(r.token_bytes() == 4);
  CHECK(r.at(0) == 99999);
  CHECK(r.at(1) == 70000);
}

TEST_CASE("ids outside the vocabulary are refused and leave no file", "[unit][data]") {
  ptm::test::TempDir d;
  {
    ShardWriter w(d.file("c.bin"), 100);
    CHECK_THROWS_AS(w.append(std::vector<int32_t>{5, 100}), ptm::RuntimeError);
  }
  CHECK_FALSE(std::ifstream(d.file("c.bin")).good());
}

TEST_CASE("a shard header with a negative vocabulary size is corrupt", "[unit][data]") {
  ptm::test::TempDir d;
  {
    ShardWriter w(d.file("v.bin"), 1000);
    w.append(std::vector<int32_t>{1, 2});
    w.close();
  }
  std::string raw = ptm::test::read_text(d.file("v.bin"));
  raw[12] = raw[13] = raw[14] = raw[15] = '\xff';  // header[3] = -1
  d.write("neg.bin", raw);
  const std::string err = ptm::test::error_of([&] { ShardReader r(d.file("neg.bin")); });
  CHECK(err.find("neg.bin' is corrupt: vocabulary size -1") != std::string::npos);
}

TEST_CASE("truncated and foreign shards are reported by name", "[unit][data]") {
  ptm::test::TempDir d;
  {
    ShardWriter w(d.file("t.bin"), 1000);
    w.append(std::vector<int32_t>{1, 2, 3, 4});
    w.close();
  }
  std::string raw = ptm::test::read_text(d.file("t.bin"));
  d.write("cut.bin", raw.substr(0, raw.size() - 1));
  d.write("short.bin", raw.substr(0, 100));
  d.write("foreign.bin", std::string(2048, 'x'));
  auto message = [&](const std::string& name) {
    try {
      ShardReader r(d.file(name));
    } catch (const ptm::IoError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message("cut.bin").find("cut.bin' is truncated or corrupt") != std::string::npos);
  CHECK(message("short.bin").find("shorter than the 1024-byte header") != std::string::npos);
  CHECK(message("foreign.bin").find("is not a token shard") != std::string::npos);
  CHECK(message("absent.bin").find("cannot open token shard") != std::string::npos);
}

TEST_CASE("the first id outside a vocabulary is found by position in both widths", "[unit][data][messages]") {
  ptm::test::TempDir d;
  std::vector<int32_t> ids(5000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i % 1000);
  ids[4321] = 65535;
  ids[4500] = 2000;
  for (const int64_t vocab : {65536, 100000}) {  // uint16, uint32
    const std::string file = d.file("v" + std::to_string(vocab) + ".bin");
    {
      ShardWriter w(file, vocab);
      w.append(ids);
      w.close();
    }
    ShardReader r(file);
    CHECK(r.first_id_at_least(1000) == 4321);
    CHECK(r.first_id_at_least(65535) == 4321);
    CHECK(r.first_id_at_least(65536) == -1);
    CHECK(r.first_id_at_least(2001) == 4321);
    CHECK_NOTHROW(r.check_ids(65536, "m.json"));
    const std::string m = ptm::test::error_of([&] { r.check_ids(1000, "m.json"); });
    CHECK(m == "token shard '" + file + "': the token at position 4321 has id 65535, outside the vocabulary of 1000 in "
               "'m.json' (a shard made with another tokenizer, or a damaged one)");
  }
}

TEST_CASE("a shard writer continues another's flushed temporary file after its last counted token", "[unit][data]") {
  ptm::test::TempDir d;
  const auto path = d.file("s.bin");
  {
    ShardWriter w(path, 1000);
    w.append(std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7});
    w.flush();
    // What a killed process leaves: its temporary file (copied: this writer deletes its own).
    std::filesystem::copy_file(w.temp_path(), d.file("left.tmp"));
  }
  CHECK_FALSE(std::filesystem::exists(path));
  ShardWriter w(path, 1000, d.file("left.tmp"), 5);  // the checkpoint counted 5 of the 7
  CHECK(w.tokens() == 5);
  w.append(std::vector<int32_t>{60, 70});
  w.close();
  ShardReader r(path);
  std::vector<int64_t> v(r.size());
  r.read(0, r.size(), v.data());
  CHECK(v == std::vector<int64_t>{1, 2, 3, 4, 5, 60, 70});
  CHECK_FALSE(std::filesystem::exists(d.file("left.tmp")));
  CHECK(ptm::test::contains(ptm::test::error_of([&] { ShardWriter(d.file("t.bin"), 1000, d.file("gone.tmp"), 1); }),
                            "gone.tmp' is missing or shorter than 1 tokens"));
}
