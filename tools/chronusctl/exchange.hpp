// chronusctl's side of a conversation with the supervisor or the recorder: sending, waiting
// for the reply that belongs to a request, and printing replies for people (--json: for
// programs). Exit statuses: 0 /done, 1 /fail, 3 no reply.
#pragma once

#include "common/osc.hpp"
#include "tools/chronusctl/options.hpp"

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

namespace chronus::ctl {

// Set by SIGINT/SIGTERM; every wait ends early when it is.
extern volatile std::sig_atomic_t stopRequested;

// A word becomes int32, float or string by its form, as in command scripts.
osc::Arg typed(const std::string &text);
// An argument as text: strings bare, everything else as JSON.
std::string argText(const osc::Arg &arg);
// Prints a reply: JSON text arguments pretty-printed, key/value lists one per line.
void print(const osc::Message &m, const Options &o);

// Sends one message and waits for its reply, which it prints unless `quiet`. Returns the
// exit status; the reply in `replyOut` if given.
int request(osc::Client &client, const Options &o, const std::string &address, const std::vector<osc::Arg> &args,
            osc::Message *replyOut = nullptr, bool quiet = false);
// Sends one message and prints every message that arrives until the timeout (or until
// replies stop coming); 1 if any was /fail.
int sendRaw(osc::Client &client, const Options &o, const std::string &address, const std::vector<osc::Arg> &args);
// Waits until `until`, printing any /fail that arrives; 1 if one did.
int drainUntil(osc::Client &client, const Options &o, std::chrono::steady_clock::time_point until);

} // namespace chronus::ctl
