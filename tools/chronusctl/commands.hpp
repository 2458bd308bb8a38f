// chronusctl's commands: a table of name, usage, help and handler. --help lists them from
// the table; main finds the command there and runs its handler.
#pragma once

#include "common/osc.hpp"
#include "tools/chronusctl/options.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace chronus::ctl {

// What a command talks to.
struct Session {
    const Options &options;
    osc::Client &supervisor;
    osc::Client *recorder; // --recorder-port; null: record commands go through the supervisor
};

// The command's name first, then its arguments as typed.
using Words = std::vector<std::string>;

struct Command {
    std::string_view name;
    std::string_view usage; // one line per form, each starting with the name
    std::string_view help;  // what it does; beside the last usage line, or under it when that is long
    int (*run)(Session &session, const Words &words); // returns the exit status
};

// Every command, in the order --help lists them.
const std::vector<Command> &commands();
// The command called `name`, or null.
const Command *findCommand(std::string_view name);
// The "commands:" part of --help.
std::string commandsHelp();

} // namespace chronus::ctl
