// The fixed-size command record that reaches the audio thread (and crosses shared memory).
// Plain data, header-only: common/shm_layout.hpp carries it in its rings.
#pragma once

#include <cstdint>
#include <type_traits>

namespace chronus::model {

enum class EventType : std::uint8_t {
    SetParam = 1,   // node.param = value
    SetElement = 2, // node.textParam[element] = value (element kLengthElement: length)
    ResetNode = 3,  // node.reset(): restart phases, envelopes, sequencer position
    // The patch of `generation`, prepared (built) ahead, goes live at this frame; `node`
    // carries the crossfade length in frames. Every later event of that generation follows it.
    Activate = 4,
};

// The `element` of a SetElement event that sets how many elements are valid.
inline constexpr std::uint16_t kLengthElement = 0xFFFF;

// A command stamped with the absolute frame where it takes effect. `generation` names
// the patch the node/param indices were resolved against; an event for another patch is
// dropped (counted) rather than applied to the wrong node.
struct Event {
    std::uint64_t frame = 0;
    std::uint32_t generation = 0;
    std::uint32_t node = 0;   // index in the compiled patch's node order
    std::uint16_t param = 0;  // parameter or text-parameter index in the module's spec
    std::uint16_t element = 0;
    EventType type = EventType::SetParam;
    std::uint8_t reserved[3] = {};
    float value = 0.0f;
};
static_assert(std::is_trivially_copyable_v<Event>);
static_assert(sizeof(Event) == 32);

} // namespace chronus::model
