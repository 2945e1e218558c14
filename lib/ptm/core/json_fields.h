// Typed reads of fields in the JSON files ptm reads (manifest.json, config.json, ...): a field
// that is missing or has another type is one IoError naming the file, the field's path and the
// expected type, instead of nlohmann's "type must be number, but is string".
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/core/errors.h"

namespace ptm::json_fields {

// How a type reads in a message: "an integer", "a string", ...
template <class T>
std::string expected_type() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  else if constexpr (std::is_integral_v<T> && sizeof(T) == 8)
    return std::is_signed_v<T> ? "an integer" : "a non-negative integer";
  else if constexpr (std::is_integral_v<T>)
    return "an integer from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
           std::to_string(std::numeric_limits<T>::max());
  else if constexpr (std::is_floating_point_v<T>) return "a number";
  else return "a string";
}

// Whether `v` is a T (integers also within T's range).
template <class T>
bool holds(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (!v.is_number_integer()) return false;
    const int64_t x = v.get<int64_t>();
    if constexpr (std::is_signed_v<T>)
      return x >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
             x <= static_cast<int64_t>(std::numeric_limits<T>::max());
    else
      return x >= 0 && static_cast<uint64_t>(x) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  } else if constexpr (std::is_floating_point_v<T>) {
    return v.is_number();
  } else {
    return v.is_string();
  }
}

// A JSON value, the file it came from and its path there ("val.shards[2].file").
class Field {
 public:
  Field(const nlohmann::json& value, std::string file, std::string path = "")
      : v_(&value), file_(std::move(file)), path_(std::move(path)) {}

  const nlohmann::json& json() const { return *v_; }
  const std::string& path() const { return path_; }

  // This value as T; IoError when it has another type.
  template <class T>
  T as() const {
    if (!holds<T>(*v_)) fail(expected_type<T>());
    return v_->get<T>();
  }
  // Member `key` as T: IoError when absent, null or of another type ...
  template <class T>
  T get(const std::string& key) const {
    return member(key, expected_type<T>()).template as<T>();
  }
  // ... or `fallback` when absent or null.
  template <class T>
  T get(const std::string& key, T fallback) const {
    if (!has(key)) return fallback;
    return member(key, expected_type<T>()).template as<T>();
  }
  bool has(const std::string& key) const { return v_->is_object() && v_->contains(key) && !(*v_)[key].is_null(); }
  // Member `key`, which must be an object.
  Field object(const std::string& key) const {
    Field f = member(key, "an object");
    if (!f.v_->is_object()) f.fail("an object");
    return f;
  }
  // The elements of member `key`, which must be a list.
  std::vector<Field> list(const std::string& key) const {
    const Field f = member(key, "a list");
    if (!f.v_->is_array()) f.fail("a list");
    std::vector<Field> out;
    for (size_t i = 0; i < f.v_->size(); ++i) out.emplace_back((*f.v_)[i], file_, f.path_ + "[" + std::to_string(i) + "]");
    return out;
  }

  // IoError "<file>: '<path>' has the wrong type (<value>), expected <what>".
  [[noreturn]] void fail(const std::string& what) const {
    std::string shown = v_->dump();
    if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
    throw IoError(file_ + ": '" + (path_.empty() ? std::string("(top level)") : path_) + "' has the wrong type (" +
                  shown + "), expected " + what);
  }

 private:
  Field member(const std::string& key, const std::string& what) const {
    if (!v_->is_object()) fail("an object");
    const std::string path = path_.empty() ? key : path_ + "." + key;
    const auto it = v_->find(key);
    if (it == v_->end() || it->is_null()) throw IoError(file_ + ": '" + path + "' is missing (expected " + what + ")");
    return Field(*it, file_, path);
  }

  const nlohmann::json* v_;
  std::string file_, path_;
};

}  // namespace ptm::json_fields
