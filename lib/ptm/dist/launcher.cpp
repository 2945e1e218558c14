// Fork/exec of the ranks and the watch over them.
#include "ptm/dist/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "ptm/core/errors.h"

namespace ptm::dist {
namespace {

volatile sig_atomic_t g_forward_signal = 0;

void remember_signal(int sig) { g_forward_signal = sig; }

std::string self_executable() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) throw RuntimeError("ptm launch: cannot find its own executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                  strsignal(WTERMSIG(status)) + ")";
  return "exited with code " + std::to_string(exit_code_of(status));
}

}  // namespace

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw RuntimeError(std::string("ptm launch: socket(): ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw RuntimeError(std::string("ptm launch: no free port: ") + std::strerror(errno));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

int launch(const LaunchOptions& o, const std::vector<std::string>& args) {
  const std::string exe = o.executable.empty() ? self_executable() : o.executable;
  const int port = o.master_port > 0 ? o.master_port : free_port();
  struct sigaction sa{};
  sa.sa_handler = remember_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::vector<pid_t> pids;
  for (int rank = 0; rank < o.nproc; ++rank) {
    const pid_t pid = fork();
    if (pid < 0) throw RuntimeError(std::string("ptm launch: fork(): ") + std::strerror(errno));
    if (pid == 0) {
      const auto set = [](const char* k, const std::string& v) { setenv(k, v.c_str(), 1); };
      set("RANK", std::to_string(rank));
      set("LOCAL_RANK", std::to_string(rank));
      set("WORLD_SIZE", std::to_string(o.nproc));
      set("LOCAL_WORLD_SIZE", std::to_string(o.nproc));
      set("MASTER_ADDR", "127.0.0.1");
      set("MASTER_PORT", std::to_string(port));
      unsetenv("TORCHELASTIC_USE_AGENT_STORE");  // rank 0 serves the store itself
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(exe.c_str()));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(exe.c_str(), argv.data());
      std::cerr << "ptm launch: cannot run " << exe << ": " << std::strerror(errno) << "\n";
      _exit(127);
    }
    pids.push_back(pid);
    std::cerr << "ptm launch: rank " << rank << " pid " << pid << "\n";
  }
  std::cerr << "ptm launch: " << o.nproc << " ranks, master 127.0.0.1:" << port << std::endl;

  int result = 0, running = o.nproc;
  bool failed = false, forwarded = false;
  auto deadline = std::chrono::steady_clock::time_point::max();
  const auto signal_all = [&](int sig) {
    for (pid_t p : pids)
      if (p > 0) kill(p, sig);
  };
  while (running > 0) {
    if (g_forward_signal && !forwarded) {  // Ctrl-C or the scheduler's SIGTERM: every rank saves and stops
      signal_all(g_forward_signal);
      forwarded = true;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "ptm launch: ranks still running " << o.grace_seconds << " s after the failure: killing them\n";
      signal_all(SIGKILL);
      deadline = std::chrono::steady_clock::time_point::max();
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0 || (pid < 0 && errno == EINTR)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (pid < 0) break;
    int rank = 0;
    while (rank < o.nproc && pids[rank] != pid) ++rank;
    if (rank == o.nproc) continue;
    pids[rank] = -1;
    --running;
    const int code = exit_code_of(status);
    if (code != 0 && !failed && !forwarded) {
      failed = true;
      result = code;
      std::cerr << "ptm launch: rank " << rank << " (pid " << pid << ") " << describe_exit(status)
                << (running > 0 ? "; stopping the other ranks" : "") << std::endl;
      signal_all(SIGTERM);
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.grace_seconds);
    } else if (code != 0 && result == 0) {
      result = code;
    }
  }
  return result;
}

}  // namespace ptm::dist
