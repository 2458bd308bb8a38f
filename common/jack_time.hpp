// JACK's frame clock in 64 bits. JACK counts frames in 32 bits (it wraps after about a day
// at 48 kHz); Chronus stamps blocks, commands and takes with 64-bit frames. Every program
// extends JACK's time through these functions, so a wrap and a step back mean the same
// thing everywhere. All RT-safe.
#pragma once

#include <cstdint>

namespace chronus {

// The 64-bit frame whose low 32 bits are `frame32` and that lies nearest to `reference`:
// within 2^31 frames (about 12 hours at 48 kHz) after or before it. So a 32-bit time just
// past a wrap extends forward across 2^32, and one a little before the reference extends
// to a frame before it (a step back stays a step back). Frames are never negative: where
// the nearest one would be, the one after the reference is taken (a reference of 0, "no
// cycle yet", extends any frame32 to itself).
constexpr std::uint64_t extendFrame(std::uint64_t reference, std::uint32_t frame32) noexcept
{
    // The 32-bit difference read as signed is the distance to the nearest such frame.
    const auto delta = static_cast<std::int32_t>(frame32 - static_cast<std::uint32_t>(reference));
    if (delta < 0 && reference < static_cast<std::uint64_t>(-static_cast<std::int64_t>(delta)))
        return reference + static_cast<std::uint32_t>(delta);
    return reference + static_cast<std::uint64_t>(static_cast<std::int64_t>(delta));
}

// How many frames `to` lies after `from` (negative: before). Exact for any two frames
// less than 2^63 apart.
constexpr std::int64_t frameDelta(std::uint64_t from, std::uint64_t to) noexcept
{
    return static_cast<std::int64_t>(to - from);
}

} // namespace chronus
