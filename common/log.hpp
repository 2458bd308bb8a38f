// Logging for control threads (never the audio thread): one line per call on stderr,
// prefixed with the program name and level. Thread-safe.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace chronus::log {

enum class Level { Debug, Info, Warn, Error };

// Sets the program name printed before each line and the lowest level shown.
void init(std::string_view program, Level minimum = Level::Info);
void write(Level level, std::string_view message);

// Concatenates anything streamable into one string: log::info("got ", n, " frames").
template <typename... Args>
std::string cat(const Args &...args)
{
    std::ostringstream s;
    (s << ... << args);
    return s.str();
}

template <typename... Args> void debug(const Args &...a) { write(Level::Debug, cat(a...)); }
template <typename... Args> void info(const Args &...a) { write(Level::Info, cat(a...)); }
template <typename... Args> void warn(const Args &...a) { write(Level::Warn, cat(a...)); }
template <typename... Args> void error(const Args &...a) { write(Level::Error, cat(a...)); }

} // namespace chronus::log
