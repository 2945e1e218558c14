// The recipe side of data type "task_mixture": each source is a data set section of its own
// type's keys plus weight and name, and the sources must agree on what the one model head
// reads (checked here, so `ptm validate` finds a disagreement before any work).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "ptm/core/fs_util.h"
#include "ptm/core/text.h"
#include "ptm/data/idx_images.h"
#include "ptm/data/task_mixture.h"
#include "ptm/data/text_classification.h"
#include "ptm/data/token_classification.h"

namespace ptm::data {
namespace {

const std::vector<std::string> kSourceTypes = {"text_classification", "token_classification", "idx_images"};

// What the model's head needs every source to agree on, from one source's options.
struct Head {
  std::string type;                  // empty: the source's type was missing or unknown
  std::string tokenizer;             // text and token classification
  std::string label_type = "class";  // text classification: class | number
  std::vector<std::string> labels;   // class or tag names in id order; empty: not known (a missing file)
  std::string labels_from;           // where they come from, for messages
  int64_t max_length = 0;
  std::string pad_to;
  double mean = 0, std = 0;  // idx_images: the normalisation (an exported model has one)
};

std::string folder_of(const std::string& path) {
  return std::filesystem::path(path).lexically_normal().parent_path().filename().string();
}

// Labels of a file that may be missing or unreadable (bind_split_files reports that already).
template <class F>
std::vector<std::string> labels_or_none(F read) {
  try {
    return read();
  } catch (const std::exception&) {
    return {};
  }
}

// Binds one source's keys by its type; fills `head` and the source's default name.
StreamBuilder bind_source(config::Section& sub, const std::string& type, Head& head, std::string& name) {
  head.type = type;
  if (type == "text_classification") {
    TextClassificationOptions o;
    bind(sub, o);
    head = {type, o.tokenizer, o.label_type, {}, "", o.max_length, o.pad_to};
    if (o.label_type == "class") head.labels = labels_or_none([&] { return class_names(o); });
    head.labels_from = o.labels.empty() ? "the sorted labels of its train file '" + o.train + "'" : "its labels: list";
    name = folder_of(o.train);
    return [o](const StreamOptions& so) { return make_text_classification(o, so); };
  }
  if (type == "token_classification") {
    TokenClassificationOptions o;
    bind(sub, o);
    head = {type, o.tokenizer, "class", {}, "", o.max_length, o.pad_to};
    head.labels = labels_or_none([&] { return tag_names(o); });
    head.labels_from = o.labels.empty() ? "the sorted tags of its train file '" + o.train + "'" : "its labels: list";
    name = folder_of(o.train);
    return [o](const StreamOptions& so) { return make_token_classification(o, so); };
  }
  IdxImagesOptions o;  // idx_images: the image shapes are compared when the files are read
  bind(sub, o);
  head.labels = o.labels;  // optional class names
  head.labels_from = "its labels: list";
  head.mean = o.mean;
  head.std = o.std;
  name = std::filesystem::path(o.path).lexically_normal().filename().string();
  if (name.empty()) name = folder_of(o.path);
  return [o](const StreamOptions& so) { return make_idx_images(o, so); };
}

// Whether two tokenizer paths give one tokenizer: the same file, or files with the same bytes.
bool same_tokenizer(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::equivalent(a, b, ec)) return true;
  return fs::is_regular_file(a) && fs::is_regular_file(b) && fs_util::read_file(a) == fs_util::read_file(b);
}

std::string list_text(const std::vector<std::string>& v) { return "[" + text::join(v, ", ") + "]"; }

// Problems where source i's head differs from source 0's, on the key that differs.
void check_heads_agree(config::Section& s, const std::vector<const config::Node*>& items,
                       const std::vector<Head>& heads) {
  const Head& h0 = heads[0];
  const std::string first = s.path_of("sources.0");
  for (size_t i = 1; i < heads.size(); ++i) {
    const Head& h = heads[i];
    if (h0.type.empty() || h.type.empty()) continue;  // already reported
    const auto differs = [&](const std::string& key, const std::string& message) {
      const auto* at = items[i]->find(key);
      s.context().add(at ? at->origin() : items[i]->origin(), s.path_of("sources." + std::to_string(i) + "." + key),
                      message);
    };
    if (h.type != h0.type) {
      differs("type", "'" + h.type + "' differs from " + first + ".type '" + h0.type +
                          "': the sources of a task mixture feed one model head");
      continue;
    }
    namespace fs = std::filesystem;
    if (!h.tokenizer.empty() && fs::exists(h.tokenizer) && fs::exists(h0.tokenizer) &&
        !same_tokenizer(h.tokenizer, h0.tokenizer))
      differs("tokenizer", "'" + h.tokenizer + "' is not the tokenizer of " + first + " ('" + h0.tokenizer +
                               "'): one model reads both, so an id must mean the same token in each");
    if (h.label_type != h0.label_type)
      differs("label_type", "'" + h.label_type + "' differs from " + first + ".label_type '" + h0.label_type + "'");
    else if (!h.labels.empty() && !h0.labels.empty() && h.labels != h0.labels)
      differs("labels", list_text(h.labels) + " (" + h.labels_from + ") differ from " + first + "'s " +
                            list_text(h0.labels) + " (" + h0.labels_from +
                            "): the head's output i must mean the "
                            "same label for every source (list the same labels, in one order, in each)");
    if (h.mean != h0.mean || h.std != h0.std)
      differs(h.mean != h0.mean ? "mean" : "std",
              "mean " + config::value_text(h.mean) + ", std " + config::value_text(h.std) + " differ from " + first +
                  "'s mean " + config::value_text(h0.mean) + ", std " + config::value_text(h0.std) +
                  ": one model reads the images of every source (normalise them alike)");
    if (h.pad_to != h0.pad_to)
      differs("pad_to", "'" + h.pad_to + "' differs from " + first + ".pad_to '" + h0.pad_to +
                            "': rows of every source go into one batch");
    else if (h.pad_to == "max_length" && h.max_length != h0.max_length)
      differs("max_length", std::to_string(h.max_length) + " differs from " + first + ".max_length " +
                                std::to_string(h0.max_length) +
                                ": padded to max_length, rows of every source go "
                                "into one batch (make them equal, or pad_to: longest)");
  }
}

}  // namespace

StreamBuilder task_mixture_factory(config::Section& s) {
  TaskMixtureOptions o;
  const auto* list = s.raw("sources");
  if (!list || !list->is_sequence() || list->items().empty()) {
    s.problem("sources",
              "expected a non-empty list of data sets, each a data: section with a weight and a name "
              "({type: text_classification, train: FILE, tokenizer: FILE, weight: 0.7, name: a})");
  } else {
    std::set<std::string> names;
    std::vector<const config::Node*> items;
    std::vector<Head> heads;
    for (size_t i = 0; i < list->items().size(); ++i) {
      const auto& item = list->items()[i];
      config::Section sub(s.context(), &item, s.path_of("sources." + std::to_string(i)), item.origin());
      if (!item.is_map()) continue;  // the section reported it
      TaskSource src;
      Head head;
      std::string type, name = "source" + std::to_string(i);
      const bool typed = sub.req("type", type, "the source's data set type: " + text::join(kSourceTypes, ", "))
                             .one_of(kSourceTypes)
                             .ok() &&
                         std::find(kSourceTypes.begin(), kSourceTypes.end(), type) != kSourceTypes.end();
      if (typed) {
        std::string folder;
        src.build = bind_source(sub, type, head, folder);
        if (!folder.empty()) name = folder;
      }
      if (sub.opt("weight", src.weight, "relative share of the training examples").ok()) {
        if (!(src.weight >= 0))
          sub.problem("weight", "must be >= 0, got " + config::value_text(src.weight));
        else if (!std::isfinite(src.weight))
          sub.problem("weight", "must be a finite number, got " + config::value_text(src.weight));
      }
      src.name = name;
      sub.opt("name", src.name,
              "label of the source in metrics.jsonl (examples_seen_<name>, eval_<name>/<metric>; default: the "
              "folder of its files)");
      if (!names.insert(src.name).second)
        sub.problem("name", "'" + src.name + "' names another source too (give each source a distinct name:)");
      sub.finish();
      o.sources.push_back(src);
      items.push_back(&item);
      heads.push_back(head);
    }
    double sum = 0;
    for (const auto& src : o.sources) sum += std::max(0.0, src.weight);
    if (!o.sources.empty() && !(sum > 0))
      s.problem("sources", "the weights are all 0: at least one source needs a positive weight");
    if (!heads.empty()) check_heads_agree(s, items, heads);
  }
  s.finish();
  return [o](const StreamOptions& so) { return make_task_mixture(o, so); };
}

}  // namespace ptm::data
