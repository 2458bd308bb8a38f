// Timed command scripts: the text form shared by `chronus-render --script` and the live
// supervisor's `--journal`. One command per line:
//
//     <time> <address> <args...>      # comment
//
// <time> is seconds ("1.5") or an exact frame ("@72000"). Arguments are typed by their
// form: integer, float, otherwise string; double quotes make anything a string
// ("x..x", "C4 E4", "42"). formatScriptLine() writes lines that parse back to exactly the
// same frame and argument bits.
#pragma once

#include "model/interpreter.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace chronus::model {

struct ScriptCommand {
    std::uint64_t frame = 0;
    std::string address;
    std::vector<Arg> args;
    int line = 0; // 1-based line in the source text
};

// Parses a whole script; commands come back sorted by frame (stable for equal frames).
// Errors name the line: "line 7: time '1.x' is not a number of seconds or @frame", or
// with a `sourceName`, compiler-style: "demo.txt:7: error: time '1.x' is not ...".
Expected<std::vector<ScriptCommand>> parseScript(std::string_view text, double sampleRate,
                                                 std::string_view sourceName = {});

// Types one unquoted word the way scripts and chronusctl do: int32, finite float, else string.
Arg typedWord(std::string_view word);

// One line for a command at an exact frame, without the newline.
std::string formatScriptLine(std::uint64_t frame, std::string_view address, const std::vector<Arg> &args);

} // namespace chronus::model
