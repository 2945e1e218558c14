// TensorBoard event files: protobuf wire format by hand (varints, fixed64/fixed32,
// length-delimited fields) and TFRecord framing.
#include "ptm/core/tb_events.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"

namespace ptm::tb {
namespace {

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int b = 0; b < bytes; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
}

uint64_t get_le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int b = 0; b < bytes; ++b) v |= static_cast<uint64_t>(static_cast<unsigned char>(s[at + b])) << (8 * b);
  return v;
}

// Protobuf wire types.
enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void key(std::string& out, uint32_t field, Wire wire) { varint(out, (field << 3) | wire); }

void bytes_field(std::string& out, uint32_t field, const std::string& value) {
  key(out, field, kBytes);
  varint(out, value.size());
  out += value;
}

void double_field(std::string& out, uint32_t field, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  key(out, field, kFixed64);
  put_le(out, bits, 8);
}

// Event {wall_time = 1; step = 2; file_version = 3 | summary = 5}.
std::string event(double wall_time, int64_t step) {
  std::string e;
  double_field(e, 1, wall_time);
  if (step != 0) {
    key(e, 2, kVarint);
    varint(e, static_cast<uint64_t>(step));
  }
  return e;
}

// Summary {repeated Value value = 1}, with one Value.
std::string with_value(std::string ev, const std::string& value) {
  std::string summary;
  bytes_field(summary, 1, value);
  bytes_field(ev, 5, summary);
  return ev;
}

bool read_varint(const std::string& s, size_t& at, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && at < s.size(); shift += 7) {
    const auto b = static_cast<unsigned char>(s[at++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool is_events_file(const std::filesystem::path& p) {
  return p.filename().string().find("tfevents") != std::string::npos && p.extension() != ".tmp" &&
         p.filename().string().find(".tmp-") == std::string::npos;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  const auto& table = crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string frame_record(const std::string& data) {
  std::string out;
  put_le(out, data.size(), 8);
  put_le(out, masked_crc32c(out.data(), 8), 4);
  out += data;
  put_le(out, masked_crc32c(data.data(), data.size()), 4);
  return out;
}

std::vector<std::string> read_records(const std::string& bytes) {
  std::vector<std::string> out;
  size_t at = 0;
  while (bytes.size() - at >= 12) {
    const uint64_t len = get_le(bytes, at, 8);
    if (get_le(bytes, at + 8, 4) != masked_crc32c(bytes.data() + at, 8)) break;
    if (len > bytes.size() - at - 12 || bytes.size() - at - 12 - len < 4) break;
    std::string data = bytes.substr(at + 12, len);
    if (get_le(bytes, at + 12 + len, 4) != masked_crc32c(data.data(), data.size())) break;
    out.push_back(std::move(data));
    at += 12 + len + 4;
  }
  return out;
}

std::string file_version_event(double wall_time) {
  std::string e = event(wall_time, 0);
  bytes_field(e, 3, "brain.Event:2");
  return e;
}

std::string scalar_event(double wall_time, int64_t step, const std::string& tag, float value) {
  // Value {tag = 1; simple_value = 2 (float)}
  std::string v;
  bytes_field(v, 1, tag);
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  key(v, 2, kFixed32);
  put_le(v, bits, 4);
  return with_value(event(wall_time, step), v);
}

std::string text_event(double wall_time, int64_t step, const std::string& tag, const std::string& markdown) {
  // SummaryMetadata {plugin_data = 1: PluginData {plugin_name = 1: "text"; content = 2: empty}}
  std::string plugin, metadata;
  bytes_field(plugin, 1, "text");
  bytes_field(metadata, 1, plugin);
  // TensorProto {dtype = 1: DT_STRING (7); tensor_shape = 2: {dim = 2: {size = 1: 1}}; string_val = 8}
  std::string dim, shape, tensor;
  key(dim, 1, kVarint);
  varint(dim, 1);
  bytes_field(shape, 2, dim);
  key(tensor, 1, kVarint);
  varint(tensor, 7);
  bytes_field(tensor, 2, shape);
  bytes_field(tensor, 8, markdown);
  // Value {tag = 1; tensor = 8; metadata = 9}
  std::string v;
  bytes_field(v, 1, tag);
  bytes_field(v, 8, tensor);
  bytes_field(v, 9, metadata);
  return with_value(event(wall_time, step), v);
}

std::string image_event(double wall_time, int64_t step, const std::string& tag, const std::string& png, int height,
                        int width, int channels) {
  // Summary.Image {height = 1; width = 2; colorspace = 3; encoded_image_string = 4}
  std::string img;
  for (const auto& [field, v] : {std::pair<uint32_t, int>{1, height}, {2, width}, {3, channels}}) {
    key(img, field, kVarint);
    varint(img, static_cast<uint64_t>(v));
  }
  bytes_field(img, 4, png);
  // Value {tag = 1; image = 4}
  std::string v;
  bytes_field(v, 1, tag);
  bytes_field(v, 4, img);
  return with_value(event(wall_time, step), v);
}

std::optional<int64_t> event_step(const std::string& ev) {
  int64_t step = 0;
  for (size_t at = 0; at < ev.size();) {
    uint64_t k, v;
    if (!read_varint(ev, at, k)) return std::nullopt;
    switch (k & 7) {
      case kVarint:
        if (!read_varint(ev, at, v)) return std::nullopt;
        if ((k >> 3) == 2) step = static_cast<int64_t>(v);
        break;
      case kFixed64:
        at += 8;
        break;
      case kFixed32:
        at += 4;
        break;
      case kBytes:
        if (!read_varint(ev, at, v) || v > ev.size() - at) return std::nullopt;
        at += v;
        break;
      default:
        return std::nullopt;
    }
    if (at > ev.size()) return std::nullopt;
  }
  return step;
}

std::string verbatim(const std::string& text) {
  std::string out = "    ";
  for (char c : text) {
    out.push_back(c);
    if (c == '\n') out += "    ";
  }
  return out;
}

// On resume, TensorBoard's own writer (SummaryWriter(purge_step=N)) appends a SessionLog.START
// event and leaves it to TensorBoard's reader to hide the old events at steps >= N; readers that
// do not purge (event iterators, `wandb sync`, scripts) would see those steps twice. So the
// events files are rewritten (atomically) without the events after the checkpoint's step, as
// truncate_jsonl_after_step does for metrics.jsonl, and one file keeps the whole run in step
// order. A record torn by a kill ends the kept part.
std::string purge_events_after(const std::string& dir, int64_t keep_through_step) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "";
  std::vector<fs::path> existing;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && is_events_file(entry.path())) existing.push_back(entry.path());
  std::sort(existing.begin(), existing.end());
  std::string newest;
  for (const auto& p : existing) {
    std::string kept;
    if (keep_through_step >= 0) {
      for (const auto& rec : read_records(fs_util::read_file(p.string()))) {
        const auto step = event_step(rec);
        if (step && *step <= keep_through_step) kept += frame_record(rec);
      }
    }
    if (kept.empty()) {
      fs::remove(p, ec);
    } else {
      fs_util::write_file_atomic(p.string(), kept);
      newest = p.string();
    }
  }
  return newest;
}

EventWriter::EventWriter(const std::string& dir, int64_t keep_through_step) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError("cannot create TensorBoard folder '" + dir + "': " + ec.message());
  path_ = purge_events_after(dir, keep_through_step);
  fresh_ = path_.empty();
  if (fresh_) {
    char host[256] = "localhost";
    ::gethostname(host, sizeof(host) - 1);
    char name[400];
    std::snprintf(name, sizeof(name), "events.out.tfevents.%010lld.%s.%d.0", static_cast<long long>(now()), host,
                  static_cast<int>(::getpid()));
    path_ = dir + "/" + name;
  }
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw IoError("cannot open TensorBoard events file '" + path_ + "': " + std::strerror(errno));
  if (fresh_) append(file_version_event(now()));
}

EventWriter::~EventWriter() {
  if (file_) std::fclose(file_);
}

void EventWriter::append(const std::string& ev) {
  const std::string rec = frame_record(ev);
  if (std::fwrite(rec.data(), 1, rec.size(), file_) != rec.size() || std::fflush(file_) != 0)
    throw IoError("cannot write TensorBoard events file '" + path_ + "': " + std::strerror(errno));
}

void EventWriter::scalar(int64_t step, const std::string& tag, double value) {
  append(scalar_event(now(), step, tag, static_cast<float>(value)));
}

void EventWriter::text(int64_t step, const std::string& tag, const std::string& markdown) {
  // TensorBoard decodes the text as UTF-8: bytes that are not (a sample cut mid-character) become U+FFFD.
  const auto valid = nlohmann::json::parse(
      nlohmann::json(markdown).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  append(text_event(now(), step, tag, valid.get<std::string>()));
}

void EventWriter::image(int64_t step, const std::string& tag, const std::string& png, int height, int width,
                        int channels) {
  append(image_event(now(), step, tag, png, height, width, channels));
}

void EventWriter::metrics(const nlohmann::json& record) {
  if (!record.is_object() || !record.contains("step") || !record["step"].is_number_integer()) return;
  const int64_t step = record["step"].get<int64_t>();
  const std::string split = record.value("split", std::string());
  const std::string group = split.empty() ? "train" : split == "val" ? "eval" : split;
  for (const auto& [k, v] : record.items()) {
    if (k == "step" || !v.is_number()) continue;  // null (NaN in JSON), strings, lists, booleans
    std::string name = k;
    if (!split.empty() && name.rfind("eval_", 0) == 0) name = name.substr(5);
    scalar(step, group + "/" + name, v.get<double>());
  }
}

}  // namespace ptm::tb
