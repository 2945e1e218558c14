// The stop flag: SIGINT/SIGTERM ask the running job to finish its step, save and exit
// with 128+signal. A second signal of the same kind restores the default action, so a
// user who presses Ctrl-C twice still gets out at once.
#pragma once

namespace ptm::signals {

void install_stop_handlers();
bool stop_requested();
int stop_signal();  // the signal that asked to stop, 0 if none
// Tests only: raise or clear the flag by hand.
void request_stop(int signal_number);
void clear_stop();

}  // namespace ptm::signals
