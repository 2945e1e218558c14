// Logging facade. The implementation uses spdlog, but this header does not, so code that
// sees the torch wheel's bundled fmt headers can log without the two fmt versions clashing.
#pragma once
#include <string>

namespace ptm::log {

enum class Level { trace, debug, info, warn, error, off };

// Parses "trace|debug|info|warn|error|off"; returns false on anything else.
bool parse_level(const std::string& text, Level& out);
void set_level(Level level);
Level level();

// Also write every message to this file (the run directory's log.txt). Appends.
void add_file(const std::string& path);
// Stops writing to files added with add_file (tests, and the end of a run).
void close_files();

void trace(const std::string& msg);
void debug(const std::string& msg);
void info(const std::string& msg);
void warn(const std::string& msg);
void error(const std::string& msg);

}  // namespace ptm::log
