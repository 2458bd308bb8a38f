// Where takes go: names resolved inside the recordings directory (escapes refused),
// default names from the wall clock, exclusive creation with a unique suffix so nothing
// is ever overwritten, and the names of rotated parts.
#pragma once

#include "common/expected.hpp"

#include <ctime>
#include <filesystem>
#include <string>

namespace chronus::rec {

// Resolves `requested` (relative, or absolute but inside `dir`) to a path inside `dir`,
// adding `extension` (".wav") when the name has none. Refuses names that escape `dir`
// lexically or through symlinks, and empty names. Creates missing subdirectories.
Expected<std::filesystem::path> resolveInside(const std::filesystem::path &dir, const std::string &requested,
                                              const std::string &extension);
// "chronus_YYYYMMDD_HHMMSS" + extension, in local time.
std::string defaultName(std::time_t when, const std::string &extension);
// Creates `wanted` with O_EXCL, or the first free of stem-1.ext, stem-2.ext, ...
// With `part` > 0, part `part` of those names instead (take_0001.wav, else
// take-1_0001.wav, ...). Returns the open descriptor, the path used, and the name it
// derives from (`wanted` or stem-N.ext: the root of the take's part names).
struct CreatedFile {
    int fd = -1;
    std::filesystem::path path;
    std::filesystem::path base;
};
Expected<CreatedFile> createUnique(const std::filesystem::path &wanted, int part = 0);
// The name of rotated part `index` (1-based) of a take first named `first`: take_0001.wav.
std::filesystem::path partName(const std::filesystem::path &first, int index);

} // namespace chronus::rec
