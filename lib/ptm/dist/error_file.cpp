// torchelastic's error file: {"message": {"message": ..., "extraInfo": {"timestamp": ...}}}.
#include "ptm/dist/error_file.h"

#include <cstdlib>
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>

namespace ptm::dist {

void write_torchelastic_error(const std::string& message) {
  const char* path = std::getenv("TORCHELASTIC_ERROR_FILE");
  if (!path || !*path) return;
  const nlohmann::json record = {
      {"message",
       {{"message", "ptm: " + message},
        // No py_callstack: torchrun then shows the message itself as the traceback.
        {"extraInfo", {{"timestamp", std::to_string(static_cast<long long>(std::time(nullptr)))}}}}}};
  std::ofstream(path) << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace ptm::dist
