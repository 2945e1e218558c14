// TensorBoard event files (tb/events.out.tfevents.*) written without protobuf or TensorFlow:
// a few hand-encoded messages of tensorboard/compat/proto/{event,summary,tensor}.proto in
// TFRecord framing. Scalars use Summary.Value.simple_value; text uses the text plugin's
// DT_STRING tensor, which TensorBoard renders as Markdown; images use Summary.Image (PNG).
#pragma once
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptm::tb {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78); "123456789" -> 0xE3069283.
uint32_t crc32c(const void* data, size_t size);
// TFRecord's masked CRC: ((c >> 15) | (c << 17)) + 0xa282ead8, so CRCs of CRCs stay strong.
uint32_t masked_crc32c(const void* data, size_t size);

// One record: uint64 length (LE), masked CRC of those 8 bytes, data, masked CRC of data.
std::string frame_record(const std::string& data);
// The records of a file's bytes, in order, up to the first one that is torn (a kill mid-write)
// or fails its CRCs.
std::vector<std::string> read_records(const std::string& bytes);

// Serialized Event messages. wall_time is seconds since the epoch.
std::string file_version_event(double wall_time);  // "brain.Event:2", the first record of a file
std::string scalar_event(double wall_time, int64_t step, const std::string& tag, float value);
std::string text_event(double wall_time, int64_t step, const std::string& tag, const std::string& markdown);
// An encoded image (PNG) of height x width with 1 (gray) or 3 (RGB) channels.
std::string image_event(double wall_time, int64_t step, const std::string& tag, const std::string& png, int height,
                        int width, int channels);
// Event.step of a serialized Event (0 when absent, as protobuf reads it); nullopt when the
// bytes are not a well-formed message.
std::optional<int64_t> event_step(const std::string& event);

// Rewrites the events files in `dir` without the events of steps after `keep_through_step`
// (a resumed run; all events when it is -1), removing files left empty. Returns the newest
// file that kept events, or "".
std::string purge_events_after(const std::string& dir, int64_t keep_through_step);

// The events file of a run's tb/ folder. Opening it keeps the events of steps up to
// `keep_through_step` of an events file already there (a resumed run; see the .cpp for why
// the file is rewritten) and appends after them; -1 starts a new file.
class EventWriter {
 public:
  EventWriter(const std::string& dir, int64_t keep_through_step);  // IoError when not writable
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  const std::string& path() const { return path_; }
  bool fresh() const { return fresh_; }  // no earlier events were kept

  void scalar(int64_t step, const std::string& tag, double value);
  void text(int64_t step, const std::string& tag, const std::string& markdown);
  void image(int64_t step, const std::string& tag, const std::string& png, int height, int width, int channels);
  // A metrics.jsonl record: each number becomes a scalar tagged train/<key>, or eval/<key>
  // and test/<key> (the "eval_" prefix dropped) for records of split "val" and "test".
  void metrics(const nlohmann::json& record);

 private:
  void append(const std::string& event);
  std::string path_;
  std::FILE* file_ = nullptr;
  bool fresh_ = true;
};

// Markdown that shows `text` verbatim (an indented code block).
std::string verbatim(const std::string& text);

}  // namespace ptm::tb
