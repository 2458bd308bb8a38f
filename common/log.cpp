#include "common/log.hpp"

#include <cstdio>
#include <mutex>

namespace chronus::log {

namespace {
std::mutex mutex;
std::string programName = "chronus";
Level minimumLevel = Level::Info;

const char *levelName(Level level)
{
    switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warning";
    case Level::Error: return "error";
    }
    return "";
}
} // namespace

void init(std::string_view program, Level minimum)
{
    std::lock_guard lock(mutex);
    programName = std::string(program);
    minimumLevel = minimum;
}

void write(Level level, std::string_view message)
{
    std::lock_guard lock(mutex);
    if (level < minimumLevel)
        return;
    std::fprintf(stderr, "%s: %s: %.*s\n", programName.c_str(), levelName(level),
                 static_cast<int>(message.size()), message.data());
}

} // namespace chronus::log
