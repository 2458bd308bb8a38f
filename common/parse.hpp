// Text to numbers for options, scripts and OSC words: the whole text or nothing.
#pragma once

#include <charconv>
#include <string_view>

namespace chronus {

// Parses all of `text` as a number of type T (integer or floating point); false when
// anything is left over, the text is empty, or the value does not fit.
template <typename T>
bool parseWhole(std::string_view text, T &out)
{
    const char *first = text.data();
    const char *last = first + text.size();
    auto [ptr, ec] = std::from_chars(first, last, out);
    return ec == std::errc() && ptr == last && first != last;
}

} // namespace chronus
