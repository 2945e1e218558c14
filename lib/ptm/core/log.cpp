// spdlog behind the facade in log.h: console on stderr, plus optional log files.
#include "ptm/core/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

namespace ptm::log {
namespace {

std::mutex g_mutex;

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("ptm", console);
    l->set_pattern("%^[%Y-%m-%d %H:%M:%S] [%l]%$ %v");
    l->set_level(spdlog::level::info);
    l->flush_on(spdlog::level::info);
    return l;
  }();
  return *instance;
}

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

bool parse_level(const std::string& text, Level& out) {
  static const std::pair<const char*, Level> kNames[] = {
      {"trace", Level::trace}, {"debug", Level::debug}, {"info", Level::info},
      {"warn", Level::warn},   {"error", Level::error}, {"off", Level::off}};
  for (const auto& [name, lvl] : kNames)
    if (text == name) { out = lvl; return true; }
  return false;
}

void set_level(Level level) { logger().set_level(to_spd(level)); }

Level level() {
  switch (logger().level()) {
    case spdlog::level::trace: return Level::trace;
    case spdlog::level::debug: return Level::debug;
    case spdlog::level::info: return Level::info;
    case spdlog::level::warn: return Level::warn;
    case spdlog::level::err: return Level::error;
    default: return Level::off;
  }
}

void add_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
  sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  logger().sinks().push_back(sink);
}

void close_files() {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto& sinks = logger().sinks();
  logger().flush();
  if (sinks.size() > 1) sinks.erase(sinks.begin() + 1, sinks.end());
}

void trace(const std::string& msg) { logger().trace("{}", msg); }
void debug(const std::string& msg) { logger().debug("{}", msg); }
void info(const std::string& msg) { logger().info("{}", msg); }
void warn(const std::string& msg) { logger().warn("{}", msg); }
void error(const std::string& msg) { logger().error("{}", msg); }

}  // namespace ptm::log
