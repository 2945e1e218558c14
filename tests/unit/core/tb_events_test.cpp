// TensorBoard event files: CRC32C and its mask, the serialized Events and their framing,
// byte for byte against TensorBoard's own code (tests/golden/tensorboard_reference.py golden:
// its protos' SerializeToString and its RecordWriter), and the purge of a resumed run.
#include "ptm/core/tb_events.h"

#include <filesystem>
#include <string>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/png.h"

namespace fs = std::filesystem;
using namespace ptm::tb;

namespace {

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

uint32_t masked(const std::string& s) { return masked_crc32c(s.data(), s.size()); }

// The steps of the events in `path` (0 for the file_version record).
std::vector<int64_t> steps_in(const std::string& path) {
  std::vector<int64_t> out;
  for (const auto& r : read_records(ptm::fs_util::read_file(path))) out.push_back(*event_step(r));
  return out;
}

std::string only_events_file(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
  REQUIRE(files.size() == 1);
  CHECK(files[0].find("/events.out.tfevents.") != std::string::npos);
  return files[0];
}

}  // namespace

TEST_CASE("crc32c and the masked crc match the spec and tensorboard", "[unit][core][tensorboard]") {
  const std::string digits = "123456789";
  CHECK(crc32c(digits.data(), digits.size()) == 0xE3069283u);  // the CRC-32C check value
  // RFC 3720 (iSCSI) B.4 vectors.
  const std::string zeros(32, '\0'), ones(32, '\xff');
  std::string up;
  for (int i = 0; i < 32; ++i) up.push_back(static_cast<char>(i));
  CHECK(crc32c(zeros.data(), 32) == 0x8A9136AAu);
  CHECK(crc32c(ones.data(), 32) == 0x62A8AB43u);
  CHECK(crc32c(up.data(), 32) == 0x46DD794Eu);
  // tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c
  CHECK(masked(digits) == 0xc78ab0e5u);
  CHECK(masked(zeros) == 0x0fd7fffau);
  CHECK(masked(ones) == 0xf909b029u);
  CHECK(masked(up) == 0x951f7892u);
  CHECK(masked("") == 0xa282ead8u);
}

TEST_CASE("events are serialized and framed byte for byte as tensorboard does", "[unit][core][tensorboard]") {
  CHECK(hex(file_version_event(1.5)) == "09000000000000f83f1a0d627261696e2e4576656e743a32");
  CHECK(hex(frame_record(file_version_event(1.5))) ==
        "1800000000000000a37f4b2209000000000000f83f1a0d627261696e2e4576656e743a322a28646c");
  CHECK(hex(scalar_event(1.5, 7, "train/loss", 2.25f)) ==
        "09000000000000f83f10072a130a110a0a747261696e2f6c6f73731500001040");
  CHECK(hex(frame_record(scalar_event(1.5, 7, "train/loss", 2.25f))) ==
        "200000000000000029eda95009000000000000f83f10072a130a110a0a747261696e2f6c6f73731500001040a988015a");
  CHECK(hex(frame_record(text_event(1.5, 300, "recipe", "hi *there*"))) ==
        "3800000000000000a3797d5709000000000000f83f10ac022a2a0a280a0672656369706542140807120412020801420a686920"
        "2a74686572652a4a080a060a0474657874acf66673");
  CHECK(hex(frame_record(image_event(1.5, 2, "inputs/0", "PNGDATA", 28, 27, 1))) ==
        "2a00000000000000ae8d91f509000000000000f83f10022a1d0a1b0a08696e707574732f30220f081c101b18012207504e474441544116"
        "d978bf");
  CHECK(event_step(text_event(1.5, 300, "recipe", "x")) == 300);
  CHECK(event_step(file_version_event(2)) == 0);
  CHECK_FALSE(event_step(std::string("\x0a\x05" "ab")).has_value());  // a length past the end
}

TEST_CASE("reading records stops at a torn or corrupt record", "[unit][core][tensorboard]") {
  const std::string a = frame_record(scalar_event(1, 1, "x", 1)), b = frame_record(scalar_event(1, 2, "x", 2));
  CHECK(read_records(a + b).size() == 2);
  CHECK(read_records(a + b.substr(0, b.size() - 1)).size() == 1);  // killed mid-write
  CHECK(read_records(a + b.substr(0, 5)).size() == 1);
  std::string flipped = a + b;
  flipped[a.size() + 20] ^= 1;  // data no longer matches its CRC
  CHECK(read_records(flipped).size() == 1);
  flipped = a + b;
  flipped[a.size()] ^= 1;  // a length that does not match its CRC
  CHECK(read_records(flipped).size() == 1);
}

TEST_CASE("a resumed run's events file keeps the steps up to the checkpoint", "[unit][core][tensorboard]") {
  ptm::test::TempDir tmp;
  const std::string dir = tmp.file("tb");
  {
    EventWriter w(dir, -1);
    CHECK(w.fresh());
    w.text(0, "recipe", "r");
    for (int64_t step = 1; step <= 5; ++step) w.metrics({{"step", step}, {"loss", 1.0 / step}, {"note", "x"}});
    w.metrics({{"step", 5}, {"split", "val"}, {"eval_loss", 0.5}, {"eval_accuracy", nullptr}});
  }
  const std::string file = only_events_file(dir);
  CHECK(steps_in(file) == std::vector<int64_t>{0, 0, 1, 2, 3, 4, 5, 5});
  // Torn by a kill; resumed from the checkpoint of step 3.
  ptm::fs_util::append_file(file, frame_record(scalar_event(1, 6, "train/loss", 1)).substr(0, 9));
  {
    EventWriter w(dir, 3);
    CHECK_FALSE(w.fresh());
    CHECK(w.path() == file);
    w.metrics({{"step", 4}, {"loss", 0.25}});
  }
  CHECK(only_events_file(dir) == file);
  const auto records = read_records(ptm::fs_util::read_file(file));
  CHECK(steps_in(file) == std::vector<int64_t>{0, 0, 1, 2, 3, 4});
  CHECK(records.back().find("train/loss") != std::string::npos);
  // Resumed from step 2 with train.tensorboard off: the file is only cut.
  CHECK(purge_events_after(dir, 2) == file);
  CHECK(steps_in(file) == std::vector<int64_t>{0, 0, 1, 2});
  CHECK(purge_events_after(tmp.file("none"), 2).empty());
  // Restarted without a checkpoint: nothing is kept, a new file begins.
  {
    EventWriter w(dir, -1);
    CHECK(w.fresh());
  }
  CHECK(steps_in(only_events_file(dir)) == std::vector<int64_t>{0});
}

TEST_CASE("metrics records become scalars tagged by split, text valid UTF-8", "[unit][core][tensorboard]") {
  ptm::test::TempDir tmp;
  {
    EventWriter w(tmp.file("tb"), -1);
    w.metrics({{"step", 10}, {"loss", 2.5}, {"lr", 1e-3}});
    w.metrics({{"step", 10}, {"split", "val"}, {"eval_loss", 2.0}, {"eval_accuracy", 0.75}});
    w.metrics({{"step", 10}, {"split", "test"}, {"eval_loss", 1.5}, {"eval_f1", true}});
  }
  {
    EventWriter w(tmp.file("tb"), 10);
    w.text(11, "samples", "caf\xc3");  // cut mid-character
  }
  const auto records = read_records(ptm::fs_util::read_file(only_events_file(tmp.file("tb"))));
  CHECK(hex(records.back().substr(9)) == hex(text_event(0, 11, "samples", "caf\xef\xbf\xbd").substr(9)));
  std::vector<std::string> expected = {scalar_event(0, 10, "train/loss", 2.5f), scalar_event(0, 10, "train/lr", 1e-3f),
                                       scalar_event(0, 10, "eval/accuracy", 0.75f),
                                       scalar_event(0, 10, "eval/loss", 2.0f), scalar_event(0, 10, "test/loss", 1.5f)};
  REQUIRE(records.size() == expected.size() + 2);
  for (size_t i = 0; i < expected.size(); ++i)  // all but the wall time (the first 9 bytes)
    CHECK(hex(records[i + 1].substr(9)) == hex(expected[i].substr(9)));
}

TEST_CASE("png: CRC-32, Adler-32 and the file layout", "[unit][core][tensorboard]") {
  const std::string digits = "123456789", wiki = "Wikipedia";
  CHECK(ptm::png::crc32(digits.data(), digits.size()) == 0xCBF43926u);  // zlib.crc32
  CHECK(ptm::png::adler32(wiki.data(), wiki.size()) == 0x11E60398u);    // zlib.adler32
  const std::vector<uint8_t> gray = {0, 64, 128, 255, 1, 2};            // 3 x 2
  const std::string png = ptm::png::encode(gray, 3, 2, 1);
  CHECK(hex(png.substr(0, 8)) == "89504e470d0a1a0a");
  // IHDR: 13 bytes, width 3, height 2, depth 8, gray.
  CHECK(hex(png.substr(8, 8 + 13)) == "0000000d49484452" "00000003" "00000002" "0800000000");
  // IDAT: a zlib stream of one final stored block of 2 rows x (filter byte 0 + 3 pixels).
  CHECK(hex(png.substr(33, 8)) == "00000013" "49444154");  // 19 bytes
  CHECK(hex(png.substr(41, 19)) == "7801010800f7ff0000408000ff0102070901c3");  // Python's zlib.compress(rows, 0)
  CHECK(png.substr(png.size() - 12) == std::string("\0\0\0\0IEND\xae\x42\x60\x82", 12));
  CHECK(ptm::test::error_of([] { ptm::png::encode({1, 2, 3}, 2, 2, 1); }) != "no error");
}
